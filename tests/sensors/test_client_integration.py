"""DeviceClient against a real Mosquitto: birth, telemetry, events, last will, graceful leave."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from sensors.behaviour import SimulatedDevice, normal_reading
from sensors.client import DeviceClient, DeviceClientError, DeviceConnectError
from sensors.contract import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    FaultReport,
    Telemetry,
    event_topic,
    status_topic,
    telemetry_topic,
)
from sensors.faults import faulty_reading
from tests.sensors.conftest import PASSWORD_SECRET, PASSWORD_USER, Broker, Subscriber, wait_until

pytestmark = pytest.mark.integration
DEADLINE_S = 10.0
PREFIX = "fm"


@pytest.fixture
def make_client(broker: Broker) -> Iterator[Callable[..., DeviceClient]]:
    """Connected DeviceClients, closed at teardown unless the test already did."""
    made: list[DeviceClient] = []

    def factory(device_id: str, **options: object) -> DeviceClient:
        client = DeviceClient(device_id, host=broker.host, port=broker.port, **options)  # type: ignore[arg-type]
        client.connect(timeout_s=DEADLINE_S)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


def _statuses(subscriber: Subscriber, device_id: str) -> list[str]:
    return [m.payload.decode() for m in subscriber.messages(status_topic(device_id, PREFIX))]


def test_birth_is_retained_and_telemetry_follows_the_contract(
    make_client: Callable[..., DeviceClient], subscribe: Callable[[str], Subscriber]
) -> None:
    device = SimulatedDevice("ssc-g01-b1-pipe", "pipe")
    client = make_client(device.id, telemetry_qos=1)
    late = subscribe(f"{PREFIX}/{device.id}/#")  # subscribes after the birth: gets it retained
    wait_until(
        lambda: _statuses(late, device.id) == [STATUS_ONLINE], timeout_s=DEADLINE_S, what="birth"
    )
    assert late.messages(status_topic(device.id))[0].retain

    readings = [normal_reading(device, 1_800_000_000.0 + i, seed=1) for i in range(3)]
    for seq, reading in enumerate(readings, 1):
        assert client.send_telemetry(Telemetry(reading, ts=1_800_000_000.0 + seq, seq=seq))
    topic = telemetry_topic(device.id)
    wait_until(lambda: len(late.messages(topic)) == 3, timeout_s=DEADLINE_S, what="telemetry")
    bodies = [json.loads(m.payload) for m in late.messages(topic)]
    assert [b["seq"] for b in bodies] == [1, 2, 3]
    assert [b["metrics"] for b in bodies] == readings
    assert all(isinstance(b["ts"], float) for b in bodies)


def test_injected_fault_readings_and_events_reach_the_broker(
    make_client: Callable[..., DeviceClient], subscribe: Callable[[str], Subscriber]
) -> None:
    shed = SimulatedDevice("ssc-g01-b2-shed", "charging_shed", {"rated_power_w": 12_000.0})
    watcher = subscribe(f"{PREFIX}/{shed.id}/+")
    client = make_client(shed.id)
    overloaded = faulty_reading(shed, normal_reading(shed, 1_800_000_000.0, seed=2), ["overload"])
    assert client.send_telemetry(Telemetry(overloaded, ts=1_800_000_000.0, seq=1))
    assert client.send_fault(FaultReport("overload", active=True, ts=1_800_000_000.0, detail="x"))
    wait_until(
        lambda: (
            bool(watcher.messages(telemetry_topic(shed.id)))
            and bool(watcher.messages(event_topic(shed.id)))
        ),
        timeout_s=DEADLINE_S,
        what="telemetry and event",
    )
    body = json.loads(watcher.messages(telemetry_topic(shed.id))[0].payload)
    assert body["metrics"]["power_w"] > 12_000.0
    event = json.loads(watcher.messages(event_topic(shed.id))[0].payload)
    assert event == {"code": "overload", "active": True, "ts": 1_800_000_000.0, "detail": "x"}


def test_crash_makes_the_broker_publish_the_retained_last_will(
    make_client: Callable[..., DeviceClient], subscribe: Callable[[str], Subscriber]
) -> None:
    client = make_client("light-crash")
    watcher = subscribe(status_topic("light-crash"))
    wait_until(
        lambda: _statuses(watcher, "light-crash") == [STATUS_ONLINE],
        timeout_s=DEADLINE_S,
        what="birth",
    )
    client.crash()
    assert not client.connected
    wait_until(
        lambda: _statuses(watcher, "light-crash")[-1:] == [STATUS_OFFLINE],
        timeout_s=DEADLINE_S,
        what="last will",
    )
    assert not client.send_telemetry(Telemetry({"lamp_on": True}))
    late = subscribe(status_topic("light-crash"))
    wait_until(
        lambda: _statuses(late, "light-crash") == [STATUS_OFFLINE],
        timeout_s=DEADLINE_S,
        what="retained will",
    )

    client.restart()  # the device comes back and announces itself again
    wait_until(
        lambda: _statuses(watcher, "light-crash")[-1:] == [STATUS_ONLINE],
        timeout_s=DEADLINE_S,
        what="rebirth",
    )


def test_close_leaves_gracefully_with_a_retained_offline(
    broker: Broker, subscribe: Callable[[str], Subscriber]
) -> None:
    client = DeviceClient("light-leave", host=broker.host, port=broker.port)
    client.connect(timeout_s=DEADLINE_S)
    watcher = subscribe(status_topic("light-leave"))
    wait_until(
        lambda: _statuses(watcher, "light-leave") == [STATUS_ONLINE],
        timeout_s=DEADLINE_S,
        what="birth",
    )
    client.close()
    wait_until(
        lambda: _statuses(watcher, "light-leave") == [STATUS_ONLINE, STATUS_OFFLINE],
        timeout_s=DEADLINE_S,
        what="offline",
    )
    late = subscribe(status_topic("light-leave"))
    wait_until(
        lambda: _statuses(late, "light-leave") == [STATUS_OFFLINE],
        timeout_s=DEADLINE_S,
        what="retained",
    )


def test_an_unreachable_broker_and_bad_options_are_reported(broker: Broker) -> None:
    with pytest.raises(DeviceClientError, match="device id"):
        DeviceClient("no spaces", host=broker.host, port=broker.port)
    with pytest.raises(DeviceClientError, match="QoS"):
        DeviceClient("ok", host=broker.host, port=broker.port, telemetry_qos=2)
    silent = DeviceClient("ok", host="127.0.0.1", port=1)  # nothing listens on port 1
    with pytest.raises(DeviceConnectError, match="no CONNACK"):
        silent.connect(timeout_s=0.5)


def test_credentials_are_sent_and_a_refusal_is_reported(password_broker: Broker) -> None:
    host, port = password_broker.host, password_broker.port
    client = DeviceClient(
        "pipe-auth", host=host, port=port, username=PASSWORD_USER, password=PASSWORD_SECRET
    )
    client.connect(timeout_s=DEADLINE_S)
    assert client.connected
    client.close()
    intruder = DeviceClient(
        "pipe-auth", host=host, port=port, username=PASSWORD_USER, password="wrong"
    )
    with pytest.raises(DeviceConnectError, match="refused"):
        intruder.connect(timeout_s=DEADLINE_S)


def test_the_client_reconnects_and_announces_itself_again(
    broker: Broker, make_client: Callable[..., DeviceClient], subscribe: Callable[[str], Subscriber]
) -> None:
    client = make_client("light-back")
    assert client.connects == 1
    broker.stop()
    wait_until(lambda: not client.connected, timeout_s=DEADLINE_S, what="the loss to be noticed")
    broker.start()  # same port, empty retained store
    wait_until(
        lambda: client.connects == 2 and client.connected, timeout_s=DEADLINE_S, what="reconnect"
    )
    late = subscribe(status_topic("light-back"))
    wait_until(
        lambda: _statuses(late, "light-back") == [STATUS_ONLINE],
        timeout_s=DEADLINE_S,
        what="rebirth",
    )
