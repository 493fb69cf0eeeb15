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
from collections import deque
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
    def done(self) -> bool:
        """True once nothing is left to wait for."""
        return self._parts <= 0


class BrokerAcks:
    """Sends PUBACKs in the order the messages came in, on the connection they came in on.

    A message is acknowledged only when it and every message before it are durable, so after
    a crash what the broker sends again is exactly the tail of the stream, in its order: a
    message acknowledged ahead of an earlier one would let the earlier one come back after
    later readings and be judged stale.
    """

    __slots__ = ("_client", "_generation", "_pending", "_stats")

    def __init__(self, stats: GatewayStats) -> None:
        self._client: object | None = None
        self._generation = 0
        self._pending: deque[tuple[int, int, Receipt]] = deque()
        self._stats = stats

    def connected(self, client: object) -> None:
        """A new connection (paho client) now carries the messages."""
        self._client = client
        self._generation += 1
        self._pending.clear()

    def disconnected(self) -> None:
        """The connection is gone: acknowledgements still pending would go nowhere."""
        self._client = None
        self._generation += 1
        self._stats.acks_stale += len(self._pending)
        self._pending.clear()

    def receipt(self, mid: int, qos: int) -> Receipt:
        """A receipt for message ``mid`` on the current connection, acknowledged in order."""
        generation = self._generation

        def ready() -> None:
            if generation == self._generation:
                self._flush()

        receipt = Receipt(ready)
        self._pending.append((mid, qos, receipt))
        return receipt

    def _flush(self) -> None:
        client, pending = self._client, self._pending
        while pending and pending[0][2].done:
            mid, qos, _ = pending.popleft()
            if client is None:
                self._stats.acks_stale += 1
                continue
            client.ack(mid, qos)  # type: ignore[attr-defined]
            self._stats.acks_sent += 1
