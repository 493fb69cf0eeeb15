"""Words on the wire: the outbox row carries where, what and by when; the relay sends MQTT in the
site's language with the old fields kept, and each webhook and robot in its endpoint's language."""

# Chinese text uses full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.relay import Relay
from alerts.orders.changes import CONTEXT_FIELDS
from alerts.orders.fields import ORDER_FIELDS
from alerts.orders.raising import handle_event
from core.events import DeviceEvent, EventSource
from governance.model import Site
from sensors.catalogue import Severity
from tests.alerts.conftest import LIGHT_RED, T0
from tests.alerts.escalation_support import seed_policies
from tests.alerts.outbox_helpers import MqttSubscriber, add_endpoint, make_settings, outbox, until
from tests.alerts.receiver import HttpReceiver
from tests.alerts.wording_support import ADDRESS, ASSIGNEE, BUILDING_NAME, PUBLIC_URL, named_site
from tests.servers.mosquitto import MosquittoServer
from tests.servers.ports import free_port

DETAIL = "current_a=7.5 (> 5)"
#: The fields the team topic carried before it had words: devices and scripts rely on them.
MACHINE_FIELDS = {"id", "schema", "change", "at", *ORDER_FIELDS}
#: Fields added for people, beside the order's own.
WORD_FIELDS = {"language", "title", "text", "names", "link"}
#: The major short circuit's acknowledgement deadline (default SLA: 15 minutes), Shanghai time.
ACK_DUE = T0 + timedelta(minutes=15)
NO_BROKER = f"mqtt://127.0.0.1:{free_port()}"


async def _raise_short_circuit(sessions: async_sessionmaker[AsyncSession], site: Site) -> int:
    """The light's short circuit, opened at T0 under the default SLA policies; its order id."""
    await seed_policies(sessions)
    event = DeviceEvent(
        LIGHT_RED, "short_circuit", True, Severity.MAJOR, T0, EventSource.RULE, DETAIL
    )
    async with sessions.begin() as session:
        [change] = await handle_event(session, site=site, event=event, now=T0)
    return change.order_id


async def test_the_outbox_row_carries_place_detail_and_deadline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _raise_short_circuit(sessions, named_site())
    [mqtt] = [row for row in await outbox(sessions) if row.channel == "mqtt"]
    payload = json.loads(mqtt.payload)
    assert MACHINE_FIELDS | set(CONTEXT_FIELDS) <= set(payload)
    assert (payload["scope"], payload["building_id"], payload["community_id"]) == (
        "device",
        "b-red",
        "c1",
    )
    assert payload["detail"] == DETAIL
    assert payload["ack_due_at"] == ACK_DUE.isoformat()


async def test_webhooks_speak_their_endpoints_language_or_the_sites(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    site = named_site()  # street.language: zh (the default)
    async with HttpReceiver() as receiver:
        english = await add_endpoint(sessions, url=receiver.url("/en"), language="en")
        await add_endpoint(sessions, url=receiver.url("/default"))
        order_id = await _raise_short_circuit(sessions, site)
        settings = make_settings(database_url, mqtt_url=NO_BROKER, public_url=PUBLIC_URL)
        async with Relay(sessions=sessions, settings=settings, site=site):
            await until(lambda: len(receiver.requests) == 2, "both webhooks")
    bodies = {request.path: request.json() for request in receiver.requests}
    assert english  # the endpoint exists; its body is the /en one
    link = f"{PUBLIC_URL}/#/crew?order={order_id}"
    assert bodies["/en"]["language"] == "en" and bodies["/default"]["language"] == "zh"
    assert bodies["/en"]["title"] == f"New work order: short circuit at {BUILDING_NAME}"
    assert bodies["/default"]["title"] == f"新工单：{BUILDING_NAME} 短路"
    for body in bodies.values():
        assert body["link"] == link and link in body["text"]
        assert ADDRESS in body["text"] and ASSIGNEE in body["text"]
        assert "2025-03-01 16:15 (UTC+08:00)" in body["text"]
        assert body["names"]["assignee"] == ASSIGNEE


async def test_robots_speak_their_endpoints_language(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    site = named_site()
    async with HttpReceiver(default=(200, b'{"errcode":0,"errmsg":"ok"}')) as receiver:
        await add_endpoint(sessions, kind="wecom", url=receiver.url("/wecom?key=k"), language="en")
        await add_endpoint(sessions, kind="dingtalk", url=receiver.url("/dingtalk?access_token=t"))
        await _raise_short_circuit(sessions, site)
        settings = make_settings(database_url, mqtt_url=NO_BROKER, public_url=PUBLIC_URL)
        async with Relay(sessions=sessions, settings=settings, site=site):
            await until(lambda: len(receiver.requests) == 2, "both robots")
    bodies = {request.path: request.json() for request in receiver.requests}
    wecom = bodies["/wecom"]["markdown"]["content"]
    dingtalk = bodies["/dingtalk"]["markdown"]
    assert wecom.startswith(f"### New work order: short circuit at {BUILDING_NAME}")
    assert dingtalk["title"] == f"新工单：{BUILDING_NAME} 短路"
    assert "请于 2025-03-01 16:15 (UTC+08:00) 前确认" in dingtalk["text"]
    assert "Acknowledge by 2025-03-01 16:15 (UTC+08:00)" in wecom


@pytest.mark.integration
async def test_the_team_topic_keeps_its_fields_and_adds_words_in_the_sites_language(
    sessions: async_sessionmaker[AsyncSession], database_url: str, mosquitto: MosquittoServer
) -> None:
    site = named_site()
    subscriber = MqttSubscriber(mosquitto.host, mosquitto.port, "fm/teams/+/workorders")
    try:
        order_id = await _raise_short_circuit(sessions, site)
        [row] = [row for row in await outbox(sessions) if row.channel == "mqtt"]
        settings = make_settings(database_url, mqtt_url=mosquitto.url, public_url=PUBLIC_URL)
        async with Relay(sessions=sessions, settings=settings, site=site):
            await until(lambda: subscriber.received(), "the MQTT notification")
        [(topic, raw)] = subscriber.received()
    finally:
        subscriber.close()
    published, stored = json.loads(raw), json.loads(row.payload)
    assert topic == "fm/teams/t1/workorders"
    assert {name: published[name] for name in stored} == stored  # every old field, unchanged
    assert set(published) >= MACHINE_FIELDS and set(published) - set(stored) == WORD_FIELDS
    assert (published["device_id"], published["fault_code"]) == (LIGHT_RED, "short_circuit")
    assert published["language"] == "zh" and published["title"] == f"新工单：{BUILDING_NAME} 短路"
    assert published["names"] == {
        "building": BUILDING_NAME,
        "grid": "Grid One",
        "community": "Community One",
        "assignee": ASSIGNEE,
        "device": "Stairwell light, unit 2",
    }
    assert published["link"] == f"{PUBLIC_URL}/#/crew?order={order_id}"
