"""The embedded MQTT broker (amqtt) that `fm demo` runs when FM_MQTT_URL is unset."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from amqtt.adapters import ReaderAdapter
from amqtt.broker import Broker

from fm.errors import StartupError
from fm.topic_guard import ProtocolViolation, TopicGuard

log = logging.getLogger(__name__)

#: The embedded broker lets any client in, to keep the tour zero-setup; production brokers use
#: `fm broker-config` (docs/broker.md).
OPEN_BROKER_NOTICE = "embedded broker: open, no authentication — demo only"
#: A forbidden topic can be 64 KiB long; the log shows its start.
LOGGED_TOPIC_CHARS = 200


class EmbeddedBrokerError(StartupError):
    """The embedded broker could not start (port taken, bad bind address)."""

    def __init__(self, message: str, *, bind: str) -> None:
        super().__init__(f"embedded MQTT broker on {bind}: {message}")
        self.bind = bind


class _GuardedReader(ReaderAdapter):  # type: ignore[misc]
    """A client's byte stream, passed through a TopicGuard before amqtt parses it."""

    def __init__(self, inner: ReaderAdapter, *, peer: str) -> None:
        self._inner = inner
        self._peer = peer
        self._guard = TopicGuard()

    async def read(self, n: int = -1) -> bytes:
        """The next bytes from the client; raises ProtocolViolation on a forbidden topic."""
        data: bytes = await self._inner.read(n)
        try:
            self._guard.feed(data)
        except ProtocolViolation as exc:
            # ascii() escapes control characters, so a topic cannot forge log lines.
            topic = ascii(exc.topic.decode("utf-8", "backslashreplace")[:LOGGED_TOPIC_CHARS])
            log.warning(
                "embedded broker: closing the connection of %s: %s (PUBLISH topic %s)",
                self._peer,
                exc.reason,
                topic,
            )
            raise
        return data

    def feed_eof(self) -> None:
        """Pass end-of-stream on to the wrapped reader."""
        self._inner.feed_eof()


class _Broker(Broker):  # type: ignore[misc]
    """amqtt's broker, stricter about PUBLISH topics and about replaying retained messages.

    A client publishing to a topic the specification forbids is disconnected (see
    ``fm.topic_guard``). amqtt 0.12 replays, on every connect, the retained messages matching
    EVERY client's filters: a one-shot publisher (a QoS 0 `mosquitto_pub`) is flooded with
    unrelated QoS 1 retained statuses it never acknowledges, and its own message is never handled.
    """

    async def _client_connected(
        self, listener_name: str, reader: ReaderAdapter, writer: Any
    ) -> None:
        # amqtt's reader loop ends the session on an exception that is not one of its own MQTT
        # errors: the guard's ProtocolViolation closes the connection (and sends the client's
        # will, as after any protocol error) before the packet is handled.
        peer_info = writer.get_peer_info()
        peer = f"{peer_info[0]}:{peer_info[1]}" if peer_info else "an unknown peer"
        guarded = _GuardedReader(reader, peer=peer)
        await super()._client_connected(listener_name, guarded, writer)

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
        # Said at every start: devices on this broker need no credentials (docs/broker.md).
        log.warning("%s (listening on %s)", OPEN_BROKER_NOTICE, self.bind)
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
