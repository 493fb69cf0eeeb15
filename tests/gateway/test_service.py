"""The Gateway against a real Mosquitto: ingestion, rules, rejections, last will, reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from core.events import DeviceEvent, EventSource
from core.mqtt import broker_address
from core.settings import Settings
from gateway.decode import RejectReason
from gateway.service import Gateway
from governance.model import Site
from sensors.catalogue import OFFLINE
from sensors.profiles import Overrides
from storage.tsdb.port import Point
from tests.gateway.fakes import ListSink, MemoryStore
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site
from tests.gateway.waiting import DEADLINE_S, until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

NO_VALID = RejectReason.NO_VALID_METRICS
SHORT_CIRCUIT = json.dumps({"metrics": {"lamp_on": True, "current_a": 12, "voltage_v": 220}})
HEALTHY_LIGHT = json.dumps({"metrics": {"lamp_on": True, "current_a": 0.4, "voltage_v": 221}})


class Running:
    """A gateway under test with its in-memory outputs."""

    def __init__(self, gateway: Gateway, store: MemoryStore, sink: ListSink) -> None:
        self.gateway, self.store, self.sink = gateway, store, sink

    def events(self, code: str | None = None) -> list[DeviceEvent]:
        return [e for e in self.sink.events if code is None or e.code == code]


GatewayFactory = Callable[..., AbstractAsyncContextManager[Running]]


def test_settings(mosquitto: MosquittoServer, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "mqtt_url": mosquitto.url,
        "tsdb_flush_interval_s": 0.02,
        "reconnect_initial_s": 0.05,
        "reconnect_max_s": 0.5,
        "liveness_sweep_interval_s": 0.05,
    }
    values.update(changes)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def start_gateway(mosquitto: MosquittoServer) -> GatewayFactory:
    @asynccontextmanager
    async def start(site: Site | None = None, **changes: Any) -> AsyncIterator[Running]:
        store, sink = MemoryStore(), ListSink()
        gateway = Gateway(
            settings=test_settings(mosquitto, **changes),
            site=site or small_site(),
            store=store,
            sink=sink,
        )
        async with gateway:
            await asyncio.wait_for(gateway.ready(), DEADLINE_S)
            yield Running(gateway, store, sink)

    return start


@pytest.fixture
async def running(start_gateway: GatewayFactory) -> AsyncIterator[Running]:
    async with start_gateway() as r:
        yield r


def test_broker_endpoint_parses_the_url_with_credentials(mosquitto: MosquittoServer) -> None:
    settings = test_settings(mosquitto, mqtt_url="mqtt://gw%40site:p%3Ass@broker.example:1884")
    endpoint = broker_address(settings)
    assert (endpoint.host, endpoint.port, endpoint.username, endpoint.password) == (
        "broker.example",
        1884,
        "gw@site",
        "p:ss",
    )
    local = broker_address(test_settings(mosquitto, mqtt_url=None, mqtt_port=2883))
    assert (local.host, local.port, local.username) == ("127.0.0.1", 2883, None)


async def test_good_telemetry_is_stored(running: Running, mosquitto: MosquittoServer) -> None:
    assert running.gateway.connected
    payload = {"seq": 1, "metrics": {"lamp_on": False, "current_a": 0.0, "voltage_v": 221.5}}
    mosquitto.publish(f"fm/{LIGHT}/telemetry", json.dumps(payload))
    await until(lambda: running.gateway.stats.points_written == 3, "three points")
    points = {p.metric: p for p in running.store.points}
    assert {m: p.value for m, p in points.items()} == {
        "lamp_on": 0.0,
        "current_a": 0.0,
        "voltage_v": 221.5,
    }
    assert all(p.device_id == LIGHT for p in points.values())
    stats = running.gateway.stats
    assert (stats.received, stats.accepted, stats.rejected_total) == (1, 1, 0)
    assert running.sink.events == []


async def test_short_circuit_emits_exactly_one_event(
    running: Running, mosquitto: MosquittoServer
) -> None:
    mosquitto.publish(f"fm/{LIGHT}/telemetry", SHORT_CIRCUIT)
    mosquitto.publish(f"fm/{LIGHT}/telemetry", SHORT_CIRCUIT)
    mosquitto.publish(f"fm/{PIPE}/telemetry", json.dumps({"metrics": {"leak": False}}))  # barrier
    await until(lambda: running.gateway.stats.received == 3, "all three messages")
    events = running.events()
    assert [(e.device_id, e.code, e.active, e.severity, e.source) for e in events] == [
        (LIGHT, "short_circuit", True, "major", EventSource.RULE)
    ]
    assert running.gateway.stats.events_emitted == 1


async def test_bad_input_is_rejected_changes_nothing_and_the_loop_survives(
    running: Running, mosquitto: MosquittoServer
) -> None:
    topic = f"fm/{LIGHT}/telemetry"
    bad: list[tuple[str, bytes | str, RejectReason]] = [
        (topic, "{not json", RejectReason.BAD_JSON),
        (topic, json.dumps({"metrics": {"current_a": "12"}}), NO_VALID),
        (topic, json.dumps({"metrics": {"current_a": True}}), NO_VALID),
        (topic, '{"metrics": {"current_a": NaN}}', NO_VALID),
        (topic, '{"metrics": {"current_a": Infinity}}', NO_VALID),
        (topic, json.dumps({"metrics": {"current_a": 12000}}), NO_VALID),
        (topic, json.dumps({"metrics": {"current_a": 1}, "seq": -1}), RejectReason.BAD_SCHEMA),
        ("fm/no-such-device/telemetry", SHORT_CIRCUIT, RejectReason.UNKNOWN_DEVICE),
        ("fm/not a device!/telemetry", SHORT_CIRCUIT, RejectReason.BAD_TOPIC),
        (topic, json.dumps({"ts": 1.0, "metrics": {"current_a": 12}}), RejectReason.CLOCK_SKEW),
        (topic, json.dumps({"ts": "soon", "metrics": {"lux": 1}}), RejectReason.BAD_TIMESTAMP),
        (topic, b" " * 20_000 + SHORT_CIRCUIT.encode(), RejectReason.OVERSIZED),
        (
            f"fm/{SHED}/event",
            json.dumps({"code": "gremlins", "active": True}),
            RejectReason.UNKNOWN_FAULT_CODE,
        ),
        (f"fm/{LIGHT}/status", "sleepy", RejectReason.BAD_STATUS),
    ]
    for bad_topic, payload, _ in bad:
        mosquitto.publish(bad_topic, payload)
    stats = running.gateway.stats
    await until(lambda: stats.rejected_total == len(bad), "every bad message to be rejected")
    expected: dict[RejectReason, int] = {}
    for _, _, reason in bad:
        expected[reason] = expected.get(reason, 0) + 1
    assert stats.rejected == expected
    assert stats.accepted == 0
    assert stats.dropped_metrics == {
        ("wrong_type", "current_a"): 2,
        ("non_finite", "current_a"): 2,
        ("out_of_range", "current_a"): 1,
    }

    mosquitto.publish(topic, SHORT_CIRCUIT)
    await until(lambda: running.events("short_circuit"), "the fault after the bad input")
    await until(lambda: stats.points_written == 3, "the good message's points")
    assert {(p.metric, p.value) for p in running.store.points} == {
        ("lamp_on", 1.0),
        ("current_a", 12.0),
        ("voltage_v", 220.0),
    }
    assert [e.code for e in running.sink.events] == ["short_circuit"]


async def test_a_failing_sink_is_counted_and_does_not_stop_the_loop(
    running: Running, mosquitto: MosquittoServer
) -> None:
    running.sink.fail = True
    mosquitto.publish(f"fm/{LIGHT}/telemetry", SHORT_CIRCUIT)
    await until(lambda: running.gateway.stats.sink_errors == 1, "the sink failure")
    running.sink.fail = False
    mosquitto.publish(f"fm/{SHED}/telemetry", json.dumps({"metrics": {"smoke": True}}))
    await until(lambda: running.events("smoke"), "the next event")


async def test_last_will_raises_offline_and_the_next_message_clears_it(
    running: Running, mosquitto: MosquittoServer
) -> None:
    device = mosquitto.connect_with_will(
        client_id=SHED, will_topic=f"fm/{SHED}/status", will_payload=b"offline"
    )
    device.close()  # power cut: no DISCONNECT, so the broker publishes the will
    await until(lambda: running.events(OFFLINE), "the offline event")
    [offline] = running.events(OFFLINE)
    assert (offline.device_id, offline.active, offline.severity, offline.source) == (
        SHED,
        True,
        "major",
        EventSource.LIVENESS,
    )
    mosquitto.publish(f"fm/{SHED}/telemetry", json.dumps({"metrics": {"temp_c": 25}}))
    await until(lambda: len(running.events(OFFLINE)) == 2, "the device to come back")
    assert running.events(OFFLINE)[1].active is False


async def test_a_retained_offline_status_is_seen_by_a_gateway_started_later(
    start_gateway: GatewayFactory, mosquitto: MosquittoServer
) -> None:
    mosquitto.publish(f"fm/{PIPE}/status", "offline", retain=True)
    async with start_gateway() as r:
        await until(lambda: r.events(OFFLINE), "the retained offline")
        assert [(e.device_id, e.active) for e in r.events()] == [(PIPE, True)]


async def test_a_silent_device_is_swept_offline(
    start_gateway: GatewayFactory, mosquitto: MosquittoServer
) -> None:
    site = small_site(device_overrides={LIGHT: Overrides(params={"heartbeat_s": 0.1})})
    async with start_gateway(site) as r:
        mosquitto.publish(f"fm/{LIGHT}/telemetry", HEALTHY_LIGHT)
        await until(lambda: r.events(OFFLINE), "the silence sweep")
        assert [(e.device_id, e.active) for e in r.events()] == [(LIGHT, True)]


async def test_the_gateway_reconnects_after_a_broker_restart_and_keeps_its_state(
    running: Running, mosquitto: MosquittoServer
) -> None:
    shed = f"fm/{SHED}/telemetry"
    mosquitto.publish(shed, json.dumps({"metrics": {"temp_c": 70}}))
    await until(lambda: running.events("overheat"), "overheat")

    mosquitto.stop()
    await until(lambda: not running.gateway.connected, "the gateway to notice")
    mosquitto.start()
    await asyncio.wait_for(running.gateway.ready(), DEADLINE_S)
    assert running.gateway.stats.connects == 2
    assert running.gateway.stats.disconnects == 1

    mosquitto.publish(shed, json.dumps({"metrics": {"temp_c": 55}}))  # between the thresholds
    mosquitto.publish(f"fm/{LIGHT}/telemetry", SHORT_CIRCUIT)
    await until(lambda: running.events("short_circuit"), "a fault after the restart")
    assert len(running.events("overheat")) == 1  # still raised, not raised again
    mosquitto.publish(shed, json.dumps({"metrics": {"temp_c": 45}}))
    await until(lambda: len(running.events("overheat")) == 2, "overheat to clear")
    assert running.events("overheat")[1].active is False
    await until(
        lambda: Point(SHED, "temp_c", running.store.points[-1].ts, 45.0) in running.store.points,
        "the reading after the restart to be stored",
    )


async def test_without_a_broker_the_gateway_keeps_retrying_and_still_exits_cleanly(
    mosquitto: MosquittoServer,
) -> None:
    mosquitto.stop()
    store, sink = MemoryStore(), ListSink()
    gateway = Gateway(settings=test_settings(mosquitto), site=small_site(), store=store, sink=sink)
    async with asyncio.timeout(DEADLINE_S):
        async with gateway:
            await until(lambda: gateway.stats.connect_failures >= 2, "two failed attempts")
            assert not gateway.connected
            mosquitto.start()  # the broker appears late: the backoff loop finds it
            await gateway.ready()
            assert gateway.connected and gateway.stats.connects == 1
    assert not gateway.connected
