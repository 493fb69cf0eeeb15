"""Helpers shared by the outbox, relay and channel tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.changes import OrderChange
from alerts.orders.raising import handle_event
from core.clock import utcnow
from core.settings import Settings
from governance.model import Site
from storage.relational.outbox_models import NotificationEndpoint, OutboxMessage
from tests.alerts.conftest import make_event

DEADLINE_S = 15.0
POLL_S = 0.01

#: Relay timings for tests: fast polls and retries, a lease far above the HTTP timeout.
FAST = {
    "outbox_poll_interval_s": 0.02,
    "outbox_backoff_initial_s": 0.02,
    "outbox_backoff_max_s": 0.05,
    "outbox_http_timeout_s": 5.0,
    "outbox_lease_s": 30.0,
    "reconnect_initial_s": 0.05,
    "reconnect_max_s": 0.2,
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a relay under test (bundled site file, fast timings)."""
    values: dict[str, Any] = {"database_url": database_url, **FAST}
    values.update(overrides)
    return Settings(**values)


async def until(
    condition: Callable[[], Awaitable[object]] | Callable[[], object],
    what: str,
    *,
    within_s: float = DEADLINE_S,
) -> None:
    """Poll ``condition`` (sync or async) until true; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + within_s
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s}s waiting for {what}")
        await asyncio.sleep(POLL_S)


async def commit_fault(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    device_id: str,
    code: str,
    *,
    active: bool = True,
    now: datetime | None = None,
) -> OrderChange:
    """Raise (or clear) a fault in its own committed transaction; the order change it caused."""
    event = make_event(device_id, code, active=active)
    async with sessions.begin() as session:
        changes = await handle_event(session, site=site, event=event, now=now or utcnow())
    assert len(changes) == 1
    return changes[0]


async def add_endpoint(
    sessions: async_sessionmaker[AsyncSession],
    *,
    kind: str = "webhook",
    url: str,
    secret: str | None = None,
    scope_kind: str = "team",
    scope_id: str = "t1",
    enabled: bool = True,
    language: str | None = None,
) -> int:
    """Insert an endpoint; its id."""
    endpoint = NotificationEndpoint(
        kind=kind,
        url=url,
        secret=secret,
        scope_kind=scope_kind,
        scope_id=scope_id,
        enabled=enabled,
        language=language,
        created_at=utcnow(),
    )
    async with sessions.begin() as session:
        session.add(endpoint)
    return endpoint.id


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    """Every outbox row, by id."""
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


class MqttSubscriber:
    """A real paho client subscribed (QoS 1) to a topic filter, collecting payloads."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_args: self._subscribed.set()
        self._client.connect(host, port)
        self._client.subscribe(topic, qos=1)
        self._client.loop_start()
        if not self._subscribed.wait(DEADLINE_S):
            self.close()
            raise AssertionError(f"could not subscribe to {topic}")

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def received(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
