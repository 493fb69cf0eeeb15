"""The outbox relay against real receivers: a local HTTP server, and Mosquitto for MQTT."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.leases import claim
from alerts.notifications.relay import Relay
from alerts.orders.raising import handle_event
from core.backoff import retry_delay
from core.clock import utcnow
from governance.model import Site
from storage.relational.outbox_models import NotificationEndpoint, OutboxMessage
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, make_event
from tests.alerts.outbox_helpers import (
    MqttSubscriber,
    add_endpoint,
    commit_fault,
    make_settings,
    outbox,
    until,
)
from tests.alerts.receiver import HttpReceiver
from tests.servers.mosquitto import MosquittoServer
from tests.servers.ports import free_port

SECRET = "webhook-secret-for-tests"
#: A broker address that refuses connections: MQTT rows stay pending, HTTP ones go out.
NO_BROKER = f"mqtt://127.0.0.1:{free_port()}"


async def _settled(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return all(row.state != "pending" for row in await outbox(sessions))


async def _commit_at(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    device_id: str,
    code: str,
    *,
    active: bool,
    later_s: float,
) -> None:
    """Raise or clear ``later_s`` after T0: a later event, never a redelivery of an earlier one."""
    event = make_event(device_id, code, active=active, ts=T0 + timedelta(seconds=later_s))
    async with sessions.begin() as session:
        assert len(await handle_event(session, site=site, event=event, now=utcnow())) == 1


def _by_channel(rows: list[OutboxMessage]) -> dict[str, OutboxMessage]:
    return {row.channel: row for row in rows}


@pytest.mark.integration
async def test_delivers_signed_webhook_and_mqtt_once(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    database_url: str,
    mosquitto: MosquittoServer,
) -> None:
    subscriber = MqttSubscriber(mosquitto.host, mosquitto.port, "fm/teams/+/workorders")
    try:
        async with HttpReceiver() as receiver:
            await add_endpoint(sessions, url=receiver.url(), secret=SECRET)
            change = await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
            settings = make_settings(database_url, mqtt_url=mosquitto.url)
            async with Relay(sessions=sessions, settings=settings) as relay:
                await until(lambda: _settled(sessions), "every row settled")
                await until(lambda: subscriber.received(), "the MQTT notification")
            assert relay.stats.delivered == 2
        rows = _by_channel(await outbox(sessions))
        [request] = receiver.requests
        # The signature verifies with the shared secret over "<timestamp>.<body>".
        timestamp = request.headers["x-fm-timestamp"]
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["x-fm-signature"] == f"sha256={expected}"
        assert abs(int(timestamp) - utcnow().timestamp()) < 60
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["idempotency-key"] == rows["webhook"].idempotency_key
        body = request.json()
        assert body["id"] == rows["webhook"].idempotency_key
        assert (body["order_id"], body["change"], body["version"]) == (
            change.order_id,
            "opened",
            change.version,
        )
        [(topic, payload)] = subscriber.received()
        assert topic == "fm/teams/t1/workorders"
        assert json.loads(payload)["id"] == rows["mqtt"].idempotency_key
        assert {row.state for row in rows.values()} == {"delivered"}
        assert rows["webhook"].attempts == 1 and rows["webhook"].delivered_at is not None
    finally:
        subscriber.close()


async def test_retries_with_backoff_then_succeeds(
    sessions: async_sessionmaker[AsyncSession], site: Site, database_url: str
) -> None:
    async with HttpReceiver() as receiver:
        receiver.answer((500, b"down"), (503, b"still down"))
        await add_endpoint(sessions, url=receiver.url())
        await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
        settings = make_settings(database_url, mqtt_url=NO_BROKER)
        async with Relay(sessions=sessions, settings=settings) as relay:
            await until(lambda: len(receiver.requests) == 3, "the third attempt")
            await until(lambda: relay.stats.delivered == 1, "the delivery to be recorded")
    webhook = _by_channel(await outbox(sessions))["webhook"]
    assert (webhook.state, webhook.attempts, webhook.last_error) == ("delivered", 3, None)
    assert relay.stats.retried == 2
    assert len({r.headers["idempotency-key"] for r in receiver.requests}) == 1


async def test_gives_up_after_max_attempts(
    sessions: async_sessionmaker[AsyncSession], site: Site, database_url: str
) -> None:
    async with HttpReceiver(default=(500, b"broken")) as receiver:
        await add_endpoint(sessions, url=receiver.url())
        await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
        settings = make_settings(database_url, mqtt_url=NO_BROKER, outbox_max_attempts=3)
        async with Relay(sessions=sessions, settings=settings) as relay:
            await until(lambda: relay.stats.dead == 1, "the row to be dead-lettered")
            await asyncio.sleep(settings.outbox_backoff_max_s * 3)  # nothing more is attempted
    webhook = _by_channel(await outbox(sessions))["webhook"]
    assert (webhook.state, webhook.attempts) == ("dead", 3)
    assert webhook.dead_at is not None and "HTTP 500" in (webhook.last_error or "")
    assert len(receiver.requests) == 3


async def test_a_deleted_endpoint_is_dead_lettered_without_sending(
    sessions: async_sessionmaker[AsyncSession], site: Site, database_url: str
) -> None:
    async with HttpReceiver() as receiver:
        endpoint_id = await add_endpoint(sessions, url=receiver.url())
        await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
        async with sessions.begin() as session:
            await session.delete(await session.get(NotificationEndpoint, endpoint_id))
        settings = make_settings(database_url, mqtt_url=NO_BROKER)
        async with Relay(sessions=sessions, settings=settings) as relay:
            await until(lambda: relay.stats.dead == 1, "the orphan to be dead-lettered")
    webhook = _by_channel(await outbox(sessions))["webhook"]
    assert webhook.state == "dead" and webhook.last_error == "the endpoint was deleted"
    assert receiver.requests == []


async def test_a_claim_excludes_other_claims_until_its_lease_expires(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
    now = utcnow()
    async with sessions.begin() as session:
        first = await claim(session, now=now, lease_s=30, limit=10, token="a")
    async with sessions.begin() as session:
        second = await claim(session, now=now, lease_s=30, limit=10, token="b")
    async with sessions.begin() as session:
        later = await claim(
            session, now=now + timedelta(seconds=31), lease_s=30, limit=10, token="c"
        )
    assert [row.channel for row in first] == ["mqtt"]  # the stream row needs no delivery
    assert second == []
    assert [row.id for row in later] == [row.id for row in first]


def test_retry_delay_doubles_up_to_the_bound_with_jitter() -> None:
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (30, 10.0)]:
        delays = {retry_delay(attempt, initial_s=2.0, max_s=10.0) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_a_lease_shorter_than_one_attempt_is_refused(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    settings = make_settings(database_url, outbox_lease_s=5.0, outbox_http_timeout_s=10.0)
    with pytest.raises(ValueError, match="FM_OUTBOX_LEASE_S"):
        Relay(sessions=sessions, settings=settings)


@pytest.mark.integration
async def test_two_relays_deliver_every_row_exactly_once(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    database_url: str,
    mosquitto: MosquittoServer,
) -> None:
    subscriber = MqttSubscriber(mosquitto.host, mosquitto.port, "fm/teams/+/workorders")
    try:
        async with HttpReceiver() as receiver:
            await add_endpoint(sessions, url=receiver.url(), scope_kind="team", scope_id="t1")
            await add_endpoint(sessions, url=receiver.url(), scope_kind="team", scope_id="t2")
            codes = {LIGHT_RED: "lamp_failure", SHED_GREEN: "port_fault", PIPE_YELLOW: "leak"}
            for device_id, code in codes.items():  # open, recover, recur: 9 changes
                await commit_fault(sessions, site, device_id, code)
            settings = make_settings(database_url, mqtt_url=mosquitto.url, outbox_batch_size=2)
            async with (
                Relay(sessions=sessions, settings=settings) as one,
                Relay(sessions=sessions, settings=settings) as two,
            ):
                for device_id, code in codes.items():
                    await _commit_at(sessions, site, device_id, code, active=False, later_s=60)
                    await _commit_at(sessions, site, device_id, code, active=True, later_s=120)
                await until(lambda: _settled(sessions), "every row settled")
                await until(lambda: len(subscriber.received()) == 9, "nine MQTT messages")
        rows = await outbox(sessions)
        pending = [r for r in rows if r.channel != "sse"]
        assert len(pending) == 18 and {r.state for r in pending} == {"delivered"}
        posted = Counter(r.headers["idempotency-key"] for r in receiver.requests)
        assert set(posted.values()) == {1}
        assert set(posted) == {r.idempotency_key for r in pending if r.channel == "webhook"}
        published = Counter(json.loads(p)["id"] for _, p in subscriber.received())
        assert set(published.values()) == {1} and len(published) == 9
        assert one.stats.delivered + two.stats.delivered == 18
        assert one.stats.lost_leases == two.stats.lost_leases == 0
    finally:
        subscriber.close()
