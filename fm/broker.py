"""The embedded MQTT broker (amqtt) that `fm demo` runs when FM_MQTT_URL is unset."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from amqtt.broker import Broker

log = logging.getLogger(__name__)


class EmbeddedBrokerError(Exception):
    """The embedded broker could not start (port taken, bad bind address)."""

    def __init__(self, message: str, *, bind: str) -> None:
        super().__init__(f"embedded MQTT broker on {bind}: {message}")
        self.bind = bind


class EmbeddedBroker:
    """An in-process amqtt broker with anonymous access, for one-machine demos only."""

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._broker: Broker | None = None

    @property
    def bind(self) -> str:
        """``host:port`` the broker listens on."""
        return f"{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": self.bind}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as exc:
            raise EmbeddedBrokerError(str(exc), bind=self.bind) from exc
        self._broker = broker
        log.info("embedded MQTT broker listening on %s", self.bind)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
            log.info("embedded MQTT broker stopped")
