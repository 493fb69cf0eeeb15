"""Acknowledging a QoS 1 message to the broker only once what it caused is durable.

The gateway turns off paho's automatic PUBACK. Each QoS 1 message gets a ``Receipt`` holding one
part for its own handling, one per batch of points it queued and one per event handed to the
alerts side; the PUBACK goes out when the last part is released: the points are in the store and
the events committed. Until then the broker keeps the message, so a gateway killed at any moment
is sent it again (persistent session); storage and alerts are idempotent, so a repeat changes
nothing. Events the root-cause grouping holds are the exception: their messages are acknowledged
when handled, and the gateway saves no state checkpoint while it holds any, so after a crash the
devices' continuing reports raise them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.stats import GatewayStats

log = logging.getLogger(__name__)


class Receipt:
    """Counts what one message still waits for; acknowledges it when nothing is left."""

    __slots__ = ("_ack", "_parts")

    def __init__(self, ack: Callable[[], None]) -> None:
        self._ack: Callable[[], None] | None = ack
        self._parts = 1  # the handling of the message itself

    def hold(self) -> None:
        """One more thing must be durable before the acknowledgement."""
        self._parts += 1

    def release(self) -> None:
        """One thing is durable; acknowledge once everything is."""
        self._parts -= 1
        if self._parts == 0 and self._ack is not None:
            ack, self._ack = self._ack, None
            try:
                ack()
            except Exception:  # the broker will redeliver; never let it stop the caller
                log.exception("could not acknowledge a message to the broker")

    @property
    def acknowledged(self) -> bool:
        """True once the acknowledgement went out."""
        return self._ack is None


class BrokerAcks:
    """Sends PUBACKs on the connection the message came in on, never on a later one."""

    __slots__ = ("_client", "_generation", "_stats")

    def __init__(self, stats: GatewayStats) -> None:
        self._client: object | None = None
        self._generation = 0
        self._stats = stats

    def connected(self, client: object) -> None:
        """A new connection (paho client) now carries the messages."""
        self._client = client
        self._generation += 1

    def disconnected(self) -> None:
        """The connection is gone: acknowledgements still pending would go nowhere."""
        self._client = None
        self._generation += 1

    def receipt(self, mid: int, qos: int) -> Receipt:
        """A receipt acknowledging message ``mid`` on the current connection."""
        client, generation = self._client, self._generation

        def ack() -> None:
            if generation != self._generation or client is None:
                self._stats.acks_stale += 1
                return
            client.ack(mid, qos)  # type: ignore[attr-defined]
            self._stats.acks_sent += 1

        return Receipt(ack)
