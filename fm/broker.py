"""The embedded MQTT broker (amqtt) that `fm demo` runs when FM_MQTT_URL is unset."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker

from fm.errors import StartupError

log = logging.getLogger(__name__)


class EmbeddedBrokerError(StartupError):
    """The embedded broker could not start (port taken, bad bind address)."""

    def __init__(self, message: str, *, bind: str) -> None:
        super().__init__(f"embedded MQTT broker on {bind}: {message}")
        self.bind = bind


class _Broker(Broker):  # type: ignore[misc]
    """amqtt's broker, sending a connecting client only the retained messages it subscribed to.

    amqtt 0.12 replays, on every connect, the retained messages matching EVERY client's filters:
    a one-shot publisher (a QoS 0 `mosquitto_pub`) is flooded with unrelated QoS 1 retained
    statuses it never acknowledges, and its own message is never handled.
    """

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        topic_filter = subscription[0]
        subscribers = self._subscriptions.get(topic_filter, ())
        if any(subscriber is session for subscriber, _ in subscribers):
            await super()._publish_retained_messages_for_subscription(subscription, session)


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
        broker = _Broker(config)
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
