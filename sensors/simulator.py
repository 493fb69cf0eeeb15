"""Fleet simulator: many devices, one asyncio loop, one MQTT connection per device.

Each device publishes once per interval, the fleet spread evenly across the interval so the
broker sees a steady stream rather than bursts. Faults are injected by hand (``inject``,
``recover``) or by a scenario script played on the simulator's clock.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sensors.behaviour import SimulatedDevice, SimulationError, normal_reading
from sensors.catalogue import OFFLINE
from sensors.client import AsyncioNetwork, DeviceClient
from sensors.contract import DEFAULT_PREFIX, FaultReport, Telemetry
from sensors.faults import (
    DROPOUT,
    FaultInjectionError,
    Scenario,
    ScenarioError,
    ScenarioStep,
    check_injectable,
    faulty_reading,
    injectable_codes,
    load_scenario,
)
from sensors.street_life import FaultGenerator

__all__ = [
    "DeviceFeed",
    "FleetSimulator",
    "FleetStats",
    "Scenario",
    "ScenarioError",
    "SimulatedDevice",
    "SimulationError",
    "load_scenario",
]

log = logging.getLogger(__name__)

# Smallest step between two timestamps of one device, so ``ts`` strictly increases.
TS_RESOLUTION_S = 0.001


class DeviceFeed:
    """One device's telemetry: strictly increasing ``seq`` and ``ts``, active faults overlaid."""

    def __init__(self, device: SimulatedDevice, *, seed: int, utc_offset_h: float = 0.0) -> None:
        self.device = device
        self._seed = seed
        self._utc_offset_h = utc_offset_h
        self._seq = 0
        self._last_ts: float | None = None
        self.faults: list[str] = []  # injected codes, in injection order

    def inject(self, code: str) -> None:
        """Start overlaying ``code``; raise FaultInjectionError for a code alien to the type."""
        check_injectable(self.device, code)
        if code not in self.faults:
            self.faults.append(code)

    def recover(self, code: str | None = None) -> list[str]:
        """Stop ``code`` (every fault when None); the codes actually recovered."""
        if code is None:
            gone, self.faults = self.faults, []
            return gone
        if code in self.faults:
            self.faults.remove(code)
            return [code]
        return []

    def next_telemetry(self, now: float) -> Telemetry:
        """The next message, stamped ``now`` unless that would not move time forward."""
        ts = round(now, 3)
        if self._last_ts is not None and ts <= self._last_ts:
            ts = round(self._last_ts + TS_RESOLUTION_S, 3)
        self._last_ts = ts
        self._seq += 1
        reading = normal_reading(self.device, ts, seed=self._seed, utc_offset_h=self._utc_offset_h)
        if self.faults:
            reading = faulty_reading(self.device, reading, self.faults)
        return Telemetry(metrics=reading, ts=ts, seq=self._seq)


@dataclass(frozen=True, slots=True)
class FleetStats:
    """Counters since the simulator started."""

    sent: int  # telemetry messages handed to the broker connection
    skipped: int  # readings not sent because the device was disconnected
    events: int  # fault events sent
    connected: int  # devices connected right now


class FleetSimulator:
    """Plays a fleet of simulated devices against an MQTT broker from one event loop."""

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        interval_s: float,
        seed: int,
        qos: int = 0,
        utc_offset_h: float = 0.0,
        scenario: Scenario | None = None,
        life: FaultGenerator | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise SimulationError(f"interval_s must be positive, not {interval_s}")
        self._feeds = {d.id: DeviceFeed(d, seed=seed, utc_offset_h=utc_offset_h) for d in devices}
        if len(self._feeds) != len(devices):
            raise SimulationError("device ids must be unique")
        if scenario is not None:
            scenario.validate_for({d.id: d for d in devices})
        self._scenario = scenario
        self._life = life
        self._clients = {
            d.id: DeviceClient(
                d.id,
                host=host,
                port=port,
                username=username,
                password=password,
                prefix=prefix,
                telemetry_qos=qos,
            )
            for d in devices
        }
        self.interval_s = interval_s
        self._clock = clock
        self._sent = self._skipped = self._events = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._running = False

    @property
    def stats(self) -> FleetStats:
        """A snapshot of the counters."""
        connected = sum(1 for client in self._clients.values() if client.connected)
        return FleetStats(self._sent, self._skipped, self._events, connected)

    def client(self, device_id: str) -> DeviceClient:
        """The MQTT client of one device."""
        return self._clients[self._known(device_id)]

    def faults(self, device_id: str) -> tuple[str, ...]:
        """The faults currently injected into a device."""
        return tuple(self._feeds[self._known(device_id)].faults)

    def injectable(self, device_id: str) -> frozenset[str] | None:
        """The codes a device of the fleet can be given; None for a device not in the fleet."""
        feed = self._feeds.get(device_id)
        return None if feed is None else injectable_codes(feed.device.type)

    @property
    def life_faults(self) -> frozenset[tuple[str, str]]:
        """(device, code) of the faults street life started that have not ended yet."""
        return self._life.active if self._life is not None else frozenset()

    # -- fault injection ---------------------------------------------------------------------

    def inject(self, device_id: str, code: str, *, report: bool = False) -> None:
        """Make a device misbehave; ``report`` also sends the fault on its event topic."""
        feed = self._feeds[self._known(device_id)]
        feed.inject(code)
        self._on_loop(self._apply_inject, device_id, code, report)

    def recover(self, device_id: str, code: str | None = None, *, report: bool = False) -> None:
        """Return a device to normal (one fault, or all when ``code`` is None)."""
        feed = self._feeds[self._known(device_id)]
        gone = feed.recover(code)
        if self._life is not None and not self._running:
            for ended in gone:  # no loop to hand it to: nothing else touches street life now
                self._life.forget(device_id, ended)
        self._on_loop(self._apply_recover, device_id, gone, report)

    def _known(self, device_id: str) -> str:
        if device_id not in self._feeds:
            raise FaultInjectionError(device_id, "-", "no such device in the fleet")
        return device_id

    def _on_loop(self, action: Callable[..., None], *args: object) -> None:
        """Run connection changes on the simulator's loop, from whichever thread asked."""
        loop = self._loop
        if loop is None or not self._running:
            return  # applied when run() starts
        if threading.get_ident() == self._loop_thread:
            action(*args)
        else:
            loop.call_soon_threadsafe(action, *args)

    def _apply_inject(self, device_id: str, code: str, report: bool) -> None:
        client = self._clients[device_id]
        if code == OFFLINE:
            client.crash()
        elif (
            code != DROPOUT
            and report
            and client.send_fault(
                FaultReport(code, active=True, ts=self._clock(), detail="injected")
            )
        ):
            self._events += 1

    def _apply_recover(self, device_id: str, codes: list[str], report: bool) -> None:
        client = self._clients[device_id]
        for code in codes:
            if self._life is not None:
                self._life.forget(device_id, code)  # on the loop, like every change of it
            if code == OFFLINE:
                client.restart()
            elif (
                code != DROPOUT
                and report
                and client.send_fault(
                    FaultReport(code, active=False, ts=self._clock(), detail="recovered")
                )
            ):
                self._events += 1

    def _play(self, step: ScenarioStep) -> None:
        log.info("scenario: %s %s %s", step.action, step.device_id, step.code or "(all)")
        if step.action == "inject" and step.code is not None:
            self.inject(step.device_id, step.code, report=step.report)
        else:
            self.recover(step.device_id, step.code, report=step.report)

    def _live(self, tick_s: float) -> None:
        """Street life: start the faults of the tick just past, end those whose time has come."""
        if self._life is None:
            return
        now = self._clock()
        for onset in self._life.step(
            now - tick_s, tick_s, busy=lambda device_id, code: code in self.faults(device_id)
        ):
            log.info("street life: %s develops %s", onset.device_id, onset.code)
            self._feeds[onset.device_id].inject(onset.code)
            self._apply_inject(onset.device_id, onset.code, False)
        for device_id, code in self._life.due(now):
            log.info("street life: %s recovers from %s", device_id, code)
            self._apply_recover(device_id, self._feeds[device_id].recover(code), False)

    # -- running -----------------------------------------------------------------------------

    def _publish(self, device_id: str) -> None:
        feed = self._feeds[device_id]
        if DROPOUT in feed.faults or OFFLINE in feed.faults:
            return
        client = self._clients[device_id]
        if client.connected and client.send_telemetry(feed.next_telemetry(self._clock())):
            self._sent += 1
        else:
            self._skipped += 1

    def _guarded(self, action: Callable[[Any], None], argument: Any) -> None:
        """One device's or step's failure is logged; the fleet keeps running."""
        try:
            action(argument)
        except Exception:
            log.exception("simulator: %s(%r) failed", action.__name__, argument)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect every device, publish until ``stop`` is set, then leave gracefully."""
        loop = asyncio.get_running_loop()
        self._loop, self._loop_thread, self._running = loop, threading.get_ident(), True
        network = AsyncioNetwork(loop)
        for device_id, client in self._clients.items():
            client.start_on(network)
            if OFFLINE in self._feeds[device_id].faults:
                client.crash()  # injected before start: the device never comes up
        start = loop.time()
        count = len(self._feeds)
        # (due, order, device): spread the fleet evenly over one interval.
        schedule = [
            (start + self.interval_s * index / count, index, device_id)
            for index, device_id in enumerate(self._feeds)
        ]
        heapq.heapify(schedule)
        steps = list(self._scenario.steps) if self._scenario else []
        stopped = asyncio.ensure_future(stop.wait())
        tick_s = self._life.life.tick_s if self._life is not None else math.inf
        next_tick = start + tick_s
        try:
            while not stop.is_set():
                now = loop.time()
                if next_tick <= now:
                    self._guarded(self._live, tick_s)
                    next_tick += tick_s
                while steps and start + steps[0].at_s <= now:
                    self._guarded(self._play, steps.pop(0))
                while schedule and schedule[0][0] <= now:
                    due, index, device_id = heapq.heappop(schedule)
                    self._guarded(self._publish, device_id)
                    heapq.heappush(schedule, (due + self.interval_s, index, device_id))
                wake = min(
                    next_tick,
                    schedule[0][0] if schedule else now + self.interval_s,
                    start + steps[0].at_s if steps else now + self.interval_s,
                )
                await asyncio.wait({stopped}, timeout=max(0.0, wake - loop.time()))
        finally:
            stopped.cancel()
            self._running = False
            await self._shutdown(network)

    async def _shutdown(self, network: AsyncioNetwork) -> None:
        closing = [client.aclose() for client in self._clients.values()]
        results = await asyncio.gather(*closing, return_exceptions=True)
        for device_id, result in zip(self._clients, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("%s: close failed: %s", device_id, result)
        network.close()

    def run_forever(self) -> None:
        """Run until SIGINT or SIGTERM (blocking); for ``fm simulate`` and scripts."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await self.run(stop)

        asyncio.run(main())
