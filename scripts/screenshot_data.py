"""Seeded history for scripts/screenshots.py: a month of closed orders and ended episodes, a bad
afternoon of open ones, and a week of readings of one pipe."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from governance.model import Site
from storage.relational.models import Episode, OrderStatus, WorkOrder
from storage.tsdb.port import Point

HISTORY_DAYS = 30
HISTORY_ORDERS = 240
REPORT_DAYS = 7
SLA_RESOLVE = timedelta(hours=4)
# Open orders of the bad afternoon: (fault code, device type, severity, minutes ago, overdue).
OPEN = [
    ("burst", "pipe", "critical", 25, False),
    ("smoke", "charging_shed", "critical", 50, False),
    ("short_circuit", "corridor_light", "major", 200, True),
    ("leak", "pipe", "major", 90, False),
    ("lamp_failure", "corridor_light", "minor", 30, False),
    ("overheat", "charging_shed", "critical", 400, True),
    ("lamp_failure", "corridor_light", "minor", 15, False),
    ("low_pressure", "pipe", "minor", 120, False),
]


def _order(
    site: Site, device_id: str, code: str, severity: str, created: datetime, **extra: Any
) -> WorkOrder:
    route = site.route(device_id)
    return WorkOrder(
        device_id=device_id,
        fault_code=code,
        severity=severity,
        tier="grid",
        building_id=route.building.id,
        grid_id=route.grid.id,
        community_id=route.community.id,
        team_id=route.team.id,
        assignee=route.assignee.id,
        created_at=created,
        updated_at=created,
        **extra,
    )


def seed_rows(site: Site, now: datetime) -> list[Any]:
    """A month of history and an afternoon of open trouble."""
    rng = random.Random(9)
    devices = sorted(site.devices)
    rows: list[Any] = []
    for _ in range(HISTORY_ORDERS):
        device_id = rng.choice(devices)
        start = now - timedelta(days=HISTORY_DAYS * rng.random())
        end = start + timedelta(minutes=rng.randint(10, 600))
        rows.append(
            _order(
                site,
                device_id,
                "leak",
                "major",
                start,
                status=OrderStatus.CLOSED.value,
                acknowledged_at=start + timedelta(minutes=5),
                resolved_at=end,
                closed_at=end,
            )
        )
        rows.append(
            Episode(
                device_id=device_id,
                code="leak",
                severity="major",
                source="rule",
                started_at=start,
                ended_at=end,
            )
        )
    by_type: dict[str, list[str]] = {}
    for device_id in devices:
        by_type.setdefault(site.devices[device_id].type, []).append(device_id)
    for index, (code, device_type, severity, minutes, overdue) in enumerate(OPEN):
        device_id = rng.choice(by_type[device_type])
        created = now - timedelta(minutes=minutes)
        due = now - timedelta(minutes=5) if overdue else now + timedelta(minutes=30 + index * 10)
        rows.append(
            _order(
                site,
                device_id,
                code,
                severity,
                created,
                status=OrderStatus.OPEN.value,
                open_key=f"{device_id}:{code}",
                ack_due_at=due,
                resolve_due_at=due + timedelta(hours=4),
            )
        )
        rows.append(
            Episode(
                device_id=device_id,
                code=code,
                severity=severity,
                source="rule",
                started_at=created,
                open_key=f"{device_id}:{code}",
            )
        )
    for device_id in rng.sample(devices, 4):
        rows.append(
            Episode(
                device_id=device_id,
                code="offline",
                severity="minor",
                source="liveness",
                started_at=now - timedelta(minutes=12),
                open_key=f"{device_id}:offline",
            )
        )
    return rows


def readings(device_id: str, now: datetime) -> list[Point]:
    """A week of a pipe's pressure, flow and temperature, one reading every ten minutes."""
    rng = random.Random(3)
    points: list[Point] = []
    step = timedelta(minutes=10)
    t = now - timedelta(days=7)
    while t < now:
        hour = t.hour + t.minute / 60
        ts = t.timestamp()
        points.append(
            Point(device_id, "pressure_kpa", ts, 300 + 20 * rng.random() - 40 * (6 < hour < 9))
        )
        points.append(
            Point(
                device_id,
                "flow_lpm",
                ts,
                10 + 30 * (6 < hour < 9 or 18 < hour < 21) + rng.random() * 5,
            )
        )
        points.append(Point(device_id, "temp_c", ts, 8 + 4 * rng.random()))
        t += step
    return points
