"""Seeded history for scripts/screenshots.py, and report answers computed from it.

The answers are shaped as agreed between the helpers of issue 9 (uptime, households, teams,
telemetry); the screenshot script uses them only where this process answers 404.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
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


def _overlap_s(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


class Synthetic:
    """Answers shaped as agreed (issue 9 API shapes) computed from the seeded rows."""

    def __init__(self, site: Site, rows: list[Any], points: list[Point], now: datetime) -> None:
        self.site, self.now, self.points = site, now, points
        self.episodes = [r for r in rows if isinstance(r, Episode)]
        self.orders = [r for r in rows if isinstance(r, WorkOrder)]
        self.start = now - timedelta(days=REPORT_DAYS)

    def _down(self, lo: datetime, hi: datetime, devices: set[str] | None = None) -> float:
        return sum(
            _overlap_s(e.started_at, e.ended_at or self.now, lo, hi)
            for e in self.episodes
            if devices is None or e.device_id in devices
        )

    def uptime(self) -> dict[str, Any]:
        count = len(self.site.devices)
        buckets, outages = [], []
        day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.now:
            nxt = day + timedelta(days=1)
            down = self._down(day, nxt)
            span = count * (min(nxt, self.now) - day).total_seconds()
            buckets.append(
                {
                    "start": day.isoformat(),
                    "end": nxt.isoformat(),
                    "availability": 1 - down / span,
                    "down_s": down,
                }
            )
            day = nxt
        for e in sorted(self.episodes, key=lambda e: e.started_at, reverse=True):
            if (e.ended_at or self.now) > self.start and len(outages) < 12:
                end = e.ended_at
                outages.append(
                    {
                        "device_id": e.device_id,
                        "code": e.code,
                        "start": e.started_at.isoformat(),
                        "end": end.isoformat() if end else None,
                        "duration_s": ((end or self.now) - e.started_at).total_seconds(),
                    }
                )
        monitored = count * (self.now - self.start).total_seconds()
        down = self._down(self.start, self.now)
        return {
            "scope": "street",
            "name": self.site.street.name,
            "start": self.start.isoformat(),
            "end": self.now.isoformat(),
            "availability": 1 - down / monitored,
            "monitored_s": monitored,
            "down_s": down,
            "maintenance_s": 0,
            "devices": count,
            "outages": outages,
            "buckets": buckets,
            "mtta_s": 300.0,
            "mttr_s": 14_400.0,
        }

    def households(self) -> list[dict[str, Any]]:
        rows = []
        for community in sorted(self.site.communities.values(), key=lambda c: c.id):
            buildings = [
                b
                for b in self.site.buildings.values()
                if self.site.grids[b.grid_id].community_id == community.id
            ]
            households = sum(b.households for b in buildings)
            lost = sum(
                _overlap_s(e.started_at, e.ended_at or self.now, self.start, self.now)
                / 3600
                * self.site.buildings[self.site.devices[e.device_id].building_id].households
                for e in self.episodes
                if self.site.grids[
                    self.site.buildings[self.site.devices[e.device_id].building_id].grid_id
                ].community_id
                == community.id
            )
            hours = (self.now - self.start).total_seconds() / 3600
            rows.append(
                {
                    "id": community.id,
                    "name": community.name,
                    "households": households,
                    "household_hours_lost": lost,
                    "availability_weighted": 1 - lost / (households * hours),
                }
            )
        return rows

    def teams(self) -> list[dict[str, Any]]:
        rows = []
        for grid in sorted(self.site.grids.values(), key=lambda g: g.id):
            mine = [o for o in self.orders if o.grid_id == grid.id]
            done = [o for o in mine if o.resolved_at]
            met = [
                o
                for o in done
                if o.resolved_at and o.resolved_at - o.created_at <= timedelta(hours=4)
            ]
            rows.append(
                {
                    "id": grid.id,
                    "name": grid.name,
                    "orders_raised": len(mine),
                    "orders_resolved": len(done),
                    "mtta_s": 300.0 if done else None,
                    "mttr_s": sum(
                        ((o.resolved_at or self.now) - o.created_at).total_seconds() for o in done
                    )
                    / len(done)
                    if done
                    else None,
                    "mtbf_s": None,
                    "sla_compliance": len(met) / len(done) if done else None,
                    "resolved_at_grid": len(done),
                    "escalated_to_community": 0,
                    "escalated_to_street": 0,
                    "first_time_fix_rate": 1.0 if done else None,
                    "backlog": {"lt_1h": 0, "1h_24h": 0, "1d_7d": 0, "gt_7d": 0},
                }
            )
        return rows

    def telemetry(self, device_id: str, metric: str) -> dict[str, Any]:
        series = [p for p in self.points if p.device_id == device_id and p.metric == metric]
        every = 3600.0
        buckets: dict[float, list[float]] = {}
        for p in series:
            buckets.setdefault(p.ts - p.ts % every, []).append(p.value)
        points = [
            {
                "ts": datetime.fromtimestamp(ts, UTC).isoformat(),
                "mean": sum(v) / len(v),
                "min": min(v),
                "max": max(v),
                "count": len(v),
            }
            for ts, v in sorted(buckets.items())
        ]
        return {
            "device_id": device_id,
            "metric": metric,
            "unit": "",
            "start": self.start.isoformat(),
            "end": self.now.isoformat(),
            "every_s": every,
            "points": points,
        }
