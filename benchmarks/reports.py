"""Report queries over a year of history: street-wide and one-device uptime for 10,000 devices.

A synthetic site is built in code (communities x grids x buildings x five devices each), a year
of episodes is generated for every device (faults and offline spells at a fixed rate, durations
drawn from an exponential law, a seeded generator so runs compare), with a few maintenance
windows, and written through the migrated schema into SQLite and PostgreSQL. Each figure is the
median of several runs after one warm-up run (a service's connection and caches are warm).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from benchmarks.servers import postgres
from benchmarks.storm import postgres_database, sqlite_url
from governance.model import (
    Building,
    Community,
    Device,
    Grid,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)
from reports.buckets import BucketSize
from reports.scope import Scope
from reports.service import uptime_report
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import Episode
from storage.relational.sla_models import Silence, SilenceScope

COMMUNITIES = 5
GRIDS_PER_COMMUNITY = 20
BUILDINGS_PER_GRID = 20
DEVICE_TYPES = ("corridor_light", "corridor_light", "corridor_light", "pipe", "charging_shed")
EPISODES_PER_DEVICE_YEAR = float(os.environ.get("FM_BENCH_EPISODES_PER_DEVICE_YEAR", "24"))
MEAN_EPISODE_S = 2 * 3600.0
MAINTENANCE_WINDOWS = 200
MAINTENANCE_S = 4 * 3600.0
RUNS = int(os.environ.get("FM_BENCH_REPORT_RUNS", "5"))
INSERT_BATCH = 20_000
SEED = 9
YEAR = timedelta(days=365)
#: The history ends here; the reports look at the year before it.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_STREET_MS = 500.0
TARGET_DEVICE_MS = 20.0


def synthetic_site() -> Site:
    """10,000 devices: 5 communities x 20 grids x 20 buildings x 5 devices."""
    communities, grids, teams, buildings, devices = {}, {}, {}, {}, {}
    for c in range(COMMUNITIES):
        community = Community(id=f"c{c}", name=f"Community {c}")
        communities[community.id] = community
        for g in range(GRIDS_PER_COMMUNITY):
            grid = Grid(
                id=f"c{c}-g{g}",
                name=f"Grid {c}.{g}",
                community_id=community.id,
                team_id=f"t-c{c}-g{g}",
            )
            grids[grid.id] = grid
            leader = Member(id=f"lead-{grid.id}", name="Leader", role=MemberRole.LEADER)
            teams[grid.team_id] = Team(
                id=grid.team_id, name=grid.name, grid_id=grid.id, leader=leader
            )
            for b in range(BUILDINGS_PER_GRID):
                building = Building(
                    id=f"{grid.id}-b{b}", name=f"Bldg {b}", grid_id=grid.id, households=24
                )
                buildings[building.id] = building
                for index, device_type in enumerate(DEVICE_TYPES):
                    device = Device(
                        id=f"{building.id}-d{index}", type=device_type, building_id=building.id
                    )
                    devices[device.id] = device
    return Site(
        street=Street(id="bench", name="Bench street", timezone="Asia/Shanghai"),
        communities=communities,
        grids=grids,
        buildings=buildings,
        devices=devices,
        teams=teams,
        departments={},
    )


def _episodes(site: Site, rng: random.Random) -> list[dict[str, object]]:
    start = NOW - YEAR
    rate_per_s = EPISODES_PER_DEVICE_YEAR / YEAR.total_seconds()
    rows: list[dict[str, object]] = []
    for device in site.devices.values():
        at = start.timestamp() + rng.expovariate(rate_per_s)
        while at < NOW.timestamp():
            code = "offline" if rng.random() < 0.5 else "fault"
            ends = at + rng.expovariate(1 / MEAN_EPISODE_S)
            still_open = ends >= NOW.timestamp()
            rows.append(
                {
                    "device_id": device.id,
                    "code": code,
                    "severity": "minor",
                    "source": "rule",
                    "detail": "",
                    "started_at": datetime.fromtimestamp(at, UTC),
                    "ended_at": None if still_open else datetime.fromtimestamp(ends, UTC),
                    "open_key": f"{device.id}:{code}" if still_open else None,
                }
            )
            at = ends + rng.expovariate(rate_per_s)
    return rows


def _silences(site: Site, rng: random.Random) -> list[dict[str, object]]:
    buildings = list(site.buildings)
    rows = []
    for _ in range(MAINTENANCE_WINDOWS):
        starts = NOW - YEAR + timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))
        rows.append(
            {
                "scope_kind": SilenceScope.BUILDING.value,
                "scope_id": rng.choice(buildings),
                "starts_at": starts,
                "ends_at": starts + timedelta(seconds=MAINTENANCE_S),
                "reason": "bench",
                "created_by": "bench",
                "created_at": starts,
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """Median times of the report queries on one store, and the history they read."""

    episodes: int
    street_ms: float
    device_ms: float
    # This process's CPU time for the street-wide query (the database server's is not in it):
    # the figure the machine's load does not inflate.
    street_cpu_ms: float
    street_availability: float | None


async def _median_ms(run: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``run`` after one warm-up run."""
    await run()  # warm-up: connection, statement cache
    wall, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        await run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


async def _seed(sessions: async_sessionmaker[AsyncSession], site: Site) -> int:
    rng = random.Random(SEED)
    episodes = _episodes(site, rng)
    async with sessions.begin() as session:
        for first in range(0, len(episodes), INSERT_BATCH):
            await session.execute(insert(Episode), episodes[first : first + INSERT_BATCH])
        await session.execute(insert(Silence), _silences(site, rng))
    return len(episodes)


async def _analyze(engine: AsyncEngine) -> None:
    # What autovacuum (PostgreSQL) or a periodic ANALYZE does after a bulk load: without table
    # statistics PostgreSQL sorts the whole table instead of walking the covering index.
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE episodes"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


async def report_queries(url: str, site: Site) -> ReportFigures:
    """Seed a year of history into the store at ``url`` and time the uptime queries."""
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        episodes = await _seed(sessions, site)
        await _analyze(engine)
        device_id = next(iter(site.devices))
        last: list[float | None] = []

        async def report(scope: Scope, target_id: str | None) -> None:
            async with sessions() as session:
                found = await uptime_report(
                    session,
                    site,
                    scope=scope,
                    target_id=target_id,
                    start=NOW - YEAR,
                    end=NOW,
                    now=NOW,
                    bucket=BucketSize.MONTH,
                )
            last.append(found.totals.availability)

        street_ms, street_cpu_ms = await _median_ms(lambda: report(Scope.STREET, None))
        street_availability = last[-1]
        device_ms, _ = await _median_ms(lambda: report(Scope.DEVICE, device_id))
        return ReportFigures(episodes, street_ms, device_ms, street_cpu_ms, street_availability)
    finally:
        await engine.dispose()


async def report_figures() -> None:
    """Print the report-query figures on SQLite and on a real PostgreSQL."""
    site = synthetic_site()
    print(
        f"\nreport queries (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus):"
        f" uptime over one year for {len(site.devices):,} devices"
        f" ({EPISODES_PER_DEVICE_YEAR:g} episodes per device-year, median of {RUNS} runs)"
    )
    with tempfile.TemporaryDirectory(prefix="fm-bench-reports-") as directory:
        _print_figures(
            "SQLite", await report_queries(sqlite_url(Path(directory), "r.sqlite3"), site)
        )
    with postgres() as server:
        _print_figures(
            "PostgreSQL", await report_queries(postgres_database(server, "reports"), site)
        )


def _print_figures(store: str, figures: ReportFigures) -> None:
    print(
        f"  {store}: history {figures.episodes:,} episodes;"
        f" street-wide {figures.street_ms:7.1f} ms (target <= {TARGET_STREET_MS:.0f} ms;"
        f" {figures.street_cpu_ms:.0f} ms CPU here),"
        f" one device {figures.device_ms:5.1f} ms (target <= {TARGET_DEVICE_MS:.0f} ms);"
        f" street availability {figures.street_availability:.4f}"
    )
