"""Work-order notifications to ``<prefix>/teams/{team_id}/workorders`` at QoS 1.

``MqttPublisher.run`` keeps one long-lived connection, reconnecting with jittered backoff;
``publish`` waits (up to its timeout) for a connection and for the broker's PUBACK.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import aiomqtt

from alerts.errors import DeliveryError
from core.mqtt import BrokerAddress

log = logging.getLogger(__name__)

NOTIFY_QOS = 1
_CLIENT_ID_PREFIX = "fm-outbox-"


class MqttPublisher:
    """One connection to the broker shared by every MQTT delivery of a relay."""

    def __init__(self, broker: BrokerAddress, *, next_delay: Callable[[int], float]) -> None:
        self._broker = broker
        self._next_delay = next_delay  # reconnect delay after n consecutive failures
        # A fresh id per process: two relays must never kick each other off the broker.
        self._identifier = _CLIENT_ID_PREFIX + secrets.token_hex(6)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._connected.is_set()

    async def run(self) -> None:
        """Connect and stay connected until cancelled."""
        broker, failures = self._broker, 0
        while True:
            try:
                async with aiomqtt.Client(
                    broker.host,
                    broker.port,
                    username=broker.username,
                    password=broker.password,
                    identifier=self._identifier,
                ) as client:
                    self._client = client
                    self._connected.set()
                    failures = 0
                    log.info("outbox: connected to %s:%s", broker.host, broker.port)
                    # Nothing is subscribed; iterating only raises when the connection drops.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                failures += 1
                log.warning("outbox: broker %s:%s unavailable (%s)", broker.host, broker.port, exc)
            except Exception:  # never let a library surprise end the publisher
                failures += 1
                log.exception("outbox: MQTT connection failed")
            finally:
                self._connected.clear()
                self._client = None
            await asyncio.sleep(self._next_delay(failures))

    async def publish(self, topic: str, payload: bytes, *, timeout_s: float) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; raises ``DeliveryError``."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError as exc:
            raise DeliveryError(f"not connected to the broker within {timeout_s}s") from exc
        client = self._client
        if client is None:
            raise DeliveryError("the broker connection dropped")
        try:
            await client.publish(topic, payload, qos=NOTIFY_QOS, timeout=timeout_s)
        except aiomqtt.MqttError as exc:
            raise DeliveryError(f"publish to {topic} failed: {exc}") from exc
