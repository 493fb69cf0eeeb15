"""Runs the sensors' fleet simulator for a site (`fm simulate`, and inside `fm demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

import httpx

from core.clock import utcnow
from core.mqtt import broker_address
from core.settings import Settings
from governance.model import Site
from sensors.behaviour import SimulatedDevice
from sensors.faults import check_injectable, load_scenario
from sensors.profiles import PROFILES, effective_params
from sensors.simulator import FleetSimulator
from sensors.street_life import FaultGenerator, StreetLife

log = logging.getLogger(__name__)

#: Seconds to wait for the running demo to answer a fault command.
REMOTE_TIMEOUT_S = 10.0
#: Where the demo keeps the admin token it generated (``fm.demo.TOKEN_FILE``).
TOKEN_FILE = "admin-token"


class RemoteFleetError(Exception):
    """The running demo could not be reached or refused the command; says why."""


#: Simulation seed used by `fm demo` (any fixed value: the demo should look the same each run).
DEMO_SEED = 1


def simulated_fleet(site: Site, *, limit: int | None = None) -> list[SimulatedDevice]:
    """Every device of the site (or the first ``limit``) with its effective thresholds."""
    devices = sorted(site.devices.values(), key=lambda d: d.id)
    if limit is not None:
        devices = devices[:limit]
    return [
        SimulatedDevice(d.id, d.type, effective_params(PROFILES[d.type], *site.overrides_for(d.id)))
        for d in devices
    ]


def utc_offset_hours(site: Site, *, at: datetime | None = None) -> float:
    """The site's UTC offset in hours now, so simulated lights follow local night."""
    offset = (at or utcnow()).astimezone(ZoneInfo(site.street.timezone)).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def build_simulator(
    *,
    settings: Settings,
    site: Site,
    limit: int | None = None,
    seed: int = DEMO_SEED,
    scenario: Path | None = None,
    life: StreetLife | None = None,
) -> FleetSimulator:
    """A fleet simulator for the site against the configured (or embedded) broker.

    With ``life`` the fleet develops faults by itself at that profile's rates (``fm demo``).
    """
    mqtt = broker_address(settings)
    fleet = simulated_fleet(site, limit=limit)
    offset_h = utc_offset_hours(site)
    return FleetSimulator(
        fleet,
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        prefix=settings.mqtt_prefix,
        interval_s=settings.simulate_interval_s,
        seed=seed,
        utc_offset_h=offset_h,
        scenario=load_scenario(scenario) if scenario is not None else None,
        life=(
            FaultGenerator(fleet, life, seed=seed, utc_offset_h=offset_h)
            if life is not None
            else None
        ),
    )


class SimulatorThread:
    """Plays a fleet on its own event loop in a thread, for as long as the context is open.

    Device connects are blocking socket calls; on the demo's loop they would stall the embedded
    broker that must answer them, so the fleet gets a loop of its own, as real devices would.
    """

    def __init__(self, simulator: FleetSimulator) -> None:
        self.simulator = simulator
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._thread = asyncio.create_task(asyncio.to_thread(self._main), name="simulator")
        await asyncio.to_thread(self._started.wait)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            await self._thread

    def _main(self) -> None:
        async def play() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await self.simulator.run(self._stop)

        try:
            asyncio.run(play())
        except Exception:
            log.exception("the simulated fleet stopped with an error")
        finally:
            self._started.set()


async def run_simulation(
    *,
    settings: Settings,
    site: Site,
    stop: asyncio.Event,
    faults: Sequence[tuple[str, str]] = (),
    scenario: Path | None = None,
    limit: int | None = None,
    seed: int = DEMO_SEED,
) -> None:
    """`fm simulate`: play the fleet, injecting ``faults`` at start, until ``stop`` is set."""
    simulator = build_simulator(
        settings=settings, site=site, limit=limit, seed=seed, scenario=scenario
    )
    fleet = {d.id: d for d in simulated_fleet(site, limit=limit)}
    for device_id, code in faults:
        device = fleet.get(device_id)
        if device is None:
            raise ValueError(f"--fault names unknown device {device_id!r}")
        check_injectable(device, code)
        simulator.inject(device_id, code)
        log.info("injected %s into %s", code, device_id)
    await simulator.run(stop)


def demo_url(settings: Settings) -> str:
    """The base URL of the demo's API on this machine."""
    host = "127.0.0.1" if settings.http_host in {"0.0.0.0", "::"} else settings.http_host
    return f"http://{host}:{settings.http_port}"


def _admin_token(settings: Settings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = settings.data_dir / TOKEN_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RemoteFleetError(
            f"no admin token: set FM_ADMIN_TOKEN or run where the demo wrote {path}"
        ) from exc


def send_fault(
    settings: Settings, *, device_id: str, code: str | None, action: str, url: str | None = None
) -> dict[str, object]:
    """`fm simulate inject|recover`: the running demo's fleet does it (its answer, or raise)."""
    base = url or demo_url(settings)
    body = {"device_id": device_id, "code": code, "action": action}
    headers = {"Authorization": f"Bearer {_admin_token(settings)}"}
    try:
        response = httpx.post(
            f"{base}/api/v1/simulation/faults", json=body, headers=headers, timeout=REMOTE_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise RemoteFleetError(f"no demo answers at {base}: {exc}") from exc
    if response.status_code != httpx.codes.ACCEPTED:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RemoteFleetError(f"{base} answered {response.status_code}: {detail}")
    answer: dict[str, object] = response.json()
    return answer
