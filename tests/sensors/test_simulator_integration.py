"""FleetSimulator against a real Mosquitto: one event loop, fifty connections, injected faults."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sensors.behaviour import SimulatedDevice
from sensors.catalogue import OFFLINE
from sensors.contract import STATUS_OFFLINE, STATUS_ONLINE, parse_device_topic
from sensors.faults import DROPOUT, parse_scenario
from sensors.simulator import FleetSimulator
from tests.sensors.conftest import Broker, Received, Subscriber, await_until

pytestmark = pytest.mark.integration
FLEET_SIZE = 50
INTERVAL_S = 0.4
DEADLINE_S = 15.0
TYPES = ("corridor_light", "pipe", "charging_shed")


def _fleet() -> list[SimulatedDevice]:
    return [SimulatedDevice(f"dev-{i:03d}", TYPES[i % len(TYPES)]) for i in range(FLEET_SIZE)]


class Traffic:
    """The subscriber's messages grouped by device and channel."""

    def __init__(self, messages: list[Received]) -> None:
        self.telemetry: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.status: dict[str, list[str]] = defaultdict(list)
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in messages:
            parsed = parse_device_topic(message.topic)
            assert parsed is not None, message.topic
            device_id, channel = parsed
            if channel == "telemetry":
                self.telemetry[device_id].append(json.loads(message.payload))
            elif channel == "status":
                self.status[device_id].append(message.payload.decode())
            else:
                self.events[device_id].append(json.loads(message.payload))


@pytest.fixture
async def running(
    broker: Broker, subscribe: Callable[[str], Subscriber]
) -> AsyncIterator[tuple[FleetSimulator, Subscriber]]:
    """A simulator of the fleet publishing to the broker, stopped gracefully at teardown."""
    watcher = subscribe("fm/#")
    simulator = FleetSimulator(
        _fleet(), host=broker.host, port=broker.port, interval_s=INTERVAL_S, seed=11, qos=1
    )
    stop = asyncio.Event()
    task = asyncio.create_task(simulator.run(stop))
    await await_until(
        lambda: simulator.stats.connected == FLEET_SIZE, timeout_s=DEADLINE_S, what="connections"
    )
    yield simulator, watcher
    stop.set()
    await asyncio.wait_for(task, DEADLINE_S)


async def test_a_fleet_publishes_from_one_loop_with_monotonic_seq(
    running: tuple[FleetSimulator, Subscriber],
) -> None:
    simulator, watcher = running
    threads = threading.active_count()
    rounds = 3
    await await_until(
        lambda: (
            len(Traffic(watcher.messages()).telemetry) == FLEET_SIZE
            and min(len(v) for v in Traffic(watcher.messages()).telemetry.values()) >= rounds
        ),
        timeout_s=DEADLINE_S,
        what=f"{rounds} readings from each of {FLEET_SIZE} devices",
    )
    assert threading.active_count() == threads  # no thread per device
    traffic = Traffic(watcher.messages())
    assert all(traffic.status[d.id][:1] == [STATUS_ONLINE] for d in _fleet())
    for device_id, bodies in traffic.telemetry.items():
        seqs = [b["seq"] for b in bodies]
        stamps = [b["ts"] for b in bodies]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), device_id
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), device_id
    assert simulator.stats.sent >= FLEET_SIZE * rounds


async def test_injected_faults_show_in_readings_events_and_status(
    running: tuple[FleetSimulator, Subscriber],
) -> None:
    simulator, watcher = running
    light, pipe, shed = "dev-000", "dev-001", "dev-002"

    simulator.inject(light, "short_circuit")
    simulator.inject(shed, "smoke", report=True)
    simulator.inject(pipe, OFFLINE)

    def latest(device_id: str) -> dict[str, object]:
        bodies = Traffic(watcher.messages()).telemetry[device_id]
        return bodies[-1]["metrics"] if bodies else {}

    await await_until(
        lambda: (
            float(latest(light).get("current_a", 0.0)) > 5.0  # type: ignore[arg-type]
            and latest(shed).get("smoke") is True
            and Traffic(watcher.messages()).status[pipe][-1:] == [STATUS_OFFLINE]
        ),
        timeout_s=DEADLINE_S,
        what="short circuit readings, smoke and the offline will",
    )
    assert Traffic(watcher.messages()).events[shed][0]["code"] == "smoke"

    simulator.recover(light)
    simulator.recover(shed, "smoke", report=True)
    simulator.recover(pipe, OFFLINE)
    await await_until(
        lambda: (
            float(latest(light).get("current_a", 99.0)) < 1.0  # type: ignore[arg-type]
            and latest(shed).get("smoke") is False
            and Traffic(watcher.messages()).status[pipe][-1:] == [STATUS_ONLINE]
            and [e["active"] for e in Traffic(watcher.messages()).events[shed]] == [True, False]
        ),
        timeout_s=DEADLINE_S,
        what="recovery",
    )


async def test_dropout_silences_a_device_without_a_will(
    running: tuple[FleetSimulator, Subscriber],
) -> None:
    simulator, watcher = running
    quiet, other = "dev-004", "dev-005"
    simulator.inject(quiet, DROPOUT)
    before = len(Traffic(watcher.messages()).telemetry[quiet])
    start_other = len(Traffic(watcher.messages()).telemetry[other])
    # Let the neighbour send three more rounds; the dropped device must send nothing meanwhile.
    await await_until(
        lambda: len(Traffic(watcher.messages()).telemetry[other]) >= start_other + 3,
        timeout_s=DEADLINE_S,
        what="three rounds from a neighbour",
    )
    traffic = Traffic(watcher.messages())
    assert len(traffic.telemetry[quiet]) <= before + 1  # at most one already in flight
    assert traffic.status[quiet] == [STATUS_ONLINE]  # connected all along: no will
    simulator.recover(quiet, DROPOUT)
    count = len(traffic.telemetry[quiet])
    await await_until(
        lambda: len(Traffic(watcher.messages()).telemetry[quiet]) > count,
        timeout_s=DEADLINE_S,
        what="readings again after recovery",
    )


async def test_a_scenario_plays_and_stop_leaves_everyone_offline(
    broker: Broker, subscribe: Callable[[str], Subscriber]
) -> None:
    watcher = subscribe("fm/#")
    fleet = _fleet()[:6]
    scenario = parse_scenario(
        {
            "steps": [
                {"at": 0.2, "action": "inject", "device": "dev-001", "code": "leak"},
                {"at": 1.2, "action": "recover", "device": "dev-001"},
            ]
        }
    )
    simulator = FleetSimulator(
        fleet, host=broker.host, port=broker.port, interval_s=0.2, seed=3, scenario=scenario
    )
    stop = asyncio.Event()
    task = asyncio.create_task(simulator.run(stop))

    def leaks() -> list[object]:
        return [b["metrics"]["leak"] for b in Traffic(watcher.messages()).telemetry["dev-001"]]

    await await_until(
        lambda: True in leaks() and leaks()[-1] is False and leaks().index(True) > 0,
        timeout_s=DEADLINE_S,
        what="leak injected then recovered by the scenario",
    )
    stop.set()
    await asyncio.wait_for(task, DEADLINE_S)
    await await_until(
        lambda: all(
            Traffic(watcher.messages()).status[d.id][-1:] == [STATUS_OFFLINE] for d in fleet
        ),
        timeout_s=DEADLINE_S,
        what="graceful offline of every device",
    )


async def test_the_fleet_reconnects_after_a_broker_restart(
    broker: Broker, subscribe: Callable[[str], Subscriber]
) -> None:
    fleet = _fleet()[:3]
    simulator = FleetSimulator(fleet, host=broker.host, port=broker.port, interval_s=0.2, seed=5)
    stop = asyncio.Event()
    task = asyncio.create_task(simulator.run(stop))
    await await_until(lambda: simulator.stats.connected == 3, timeout_s=DEADLINE_S, what="connect")
    await asyncio.to_thread(broker.stop)
    await await_until(lambda: simulator.stats.connected == 0, timeout_s=DEADLINE_S, what="loss")
    await asyncio.to_thread(broker.start)
    await await_until(
        lambda: (
            all(simulator.client(d.id).connects == 2 for d in fleet)
            and simulator.stats.connected == 3
        ),
        timeout_s=DEADLINE_S,
        what="every device back",
    )
    watcher = subscribe("fm/#")
    await await_until(
        lambda: all(
            Traffic(watcher.messages()).status[d.id] == [STATUS_ONLINE]
            and Traffic(watcher.messages()).telemetry[d.id]
            for d in fleet
        ),
        timeout_s=DEADLINE_S,
        what="retained births and fresh readings",
    )
    stop.set()
    await asyncio.wait_for(task, DEADLINE_S)
