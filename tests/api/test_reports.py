"""Uptime and reports over HTTP: figures from seeded history, CSV, and 422 for bad requests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import seed_default_policies
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import Episode, OrderStatus
from storage.relational.sla_models import Silence, SilenceScope
from tests.api.conftest import T0, make_order, seed

Sessions = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)
WINDOW = {"start": T0.isoformat(), "end": (T0 + 24 * HOUR).isoformat()}


def _episode(device_id: str, code: str, start: datetime, end: datetime | None) -> Episode:
    return Episode(
        device_id=device_id,
        code=code,
        severity="minor",
        source="rule",
        started_at=start,
        ended_at=end,
        open_key=None if end else f"{device_id}:{code}",
    )


@pytest.fixture
async def history(sessions: Sessions) -> None:
    """light-1 down 2 h (one hour under building maintenance), pipe-2 offline for the last 3 h."""
    await seed(
        sessions,
        _episode("light-1", "lamp_failure", T0 + 2 * HOUR, T0 + 4 * HOUR),
        _episode("light-1", "offline", T0 + 3 * HOUR, T0 + 5 * HOUR),
        _episode("pipe-2", "offline", T0 + 21 * HOUR, None),
        # Before the window: must not count.
        _episode("pipe-1", "burst", T0 - 5 * HOUR, T0 - HOUR),
        Silence(
            scope_kind=SilenceScope.BUILDING,
            scope_id="b-sun-1",
            starts_at=T0 + 4 * HOUR,
            ends_at=T0 + 6 * HOUR,
            reason="relamping",
            created_by="test",
            created_at=T0,
        ),
    )


ROUTES = ["/api/v1/uptime", "/api/v1/reports/households", "/api/v1/reports/teams"]


@pytest.mark.parametrize("path", [*ROUTES, "/api/v1/reports/street"])
async def test_every_route_needs_the_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_device_uptime_with_maintenance_outages_and_buckets(
    client: httpx.AsyncClient, history: None
) -> None:
    response = await client.get(
        "/api/v1/uptime",
        params={"scope": "device", "id": "light-1", "bucket": "day", **WINDOW},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "light-1" and body["name"] == "Stair light 1"
    # Down 2:00-5:00, of which 4:00-5:00 was planned maintenance.
    assert body["down_s"] == pytest.approx(2 * 3600, abs=0.01)
    assert body["maintenance_s"] == pytest.approx(2 * 3600, abs=0.01)
    assert body["monitored_s"] == pytest.approx(24 * 3600, abs=0.01)
    assert body["availability"] == pytest.approx(1 - 2 / 24)
    assert body["outages_total"] == 1
    (outage,) = body["outages"]
    assert outage["code"] == "lamp_failure,offline"
    assert outage["start"] == (T0 + 2 * HOUR).isoformat()
    assert outage["duration_s"] == pytest.approx(3 * 3600, abs=0.01)
    # T0 is 08:00 UTC and the site's zone is UTC: two buckets, cut at midnight.
    assert [b["end"] for b in body["buckets"]] == [
        datetime(2024, 5, 2, tzinfo=UTC).isoformat(),
        WINDOW["end"],
    ]
    assert sum(b["down_s"] for b in body["buckets"]) == pytest.approx(2 * 3600, abs=0.01)


async def test_street_uptime_rolls_up_device_time_and_omits_the_id(
    client: httpx.AsyncClient, history: None
) -> None:
    body = (await client.get("/api/v1/uptime", params={"scope": "street", **WINDOW})).json()
    assert "id" not in body and body["name"] == "Xincheng Subdistrict"
    assert body["devices"] == 5
    assert body["down_s"] == pytest.approx(5 * 3600, abs=0.01)
    assert body["availability"] == pytest.approx(1 - 5 / (5 * 24))
    # Latest first.
    assert [o["device_id"] for o in body["outages"]] == ["pipe-2", "light-1"]


async def test_type_and_grid_scopes(client: httpx.AsyncClient, history: None) -> None:
    pipes = await client.get("/api/v1/uptime", params={"scope": "type", "id": "pipe", **WINDOW})
    assert pipes.json()["devices"] == 2 and pipes.json()["down_s"] == pytest.approx(
        3 * 3600, abs=0.01
    )
    grid = await client.get("/api/v1/uptime", params={"scope": "grid", "id": "sun-2", **WINDOW})
    assert grid.json()["down_s"] == 0 and grid.json()["availability"] == 1


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"scope": "planet", "id": "x"}, "scope"),
        ({"scope": "device", "id": "nope"}, "nope"),
        ({"scope": "grid"}, "needs an id"),
        ({"scope": "type", "id": "toaster"}, "toaster"),
        ({"scope": "street", "start": WINDOW["end"], "end": WINDOW["start"]}, "before end"),
        ({"scope": "street", "start": "2024-05-01T08:00:00"}, "timezone"),
        ({"scope": "street", "bucket": "year"}, "bucket"),
        ({"scope": "street", "start": "1990-01-01T00:00:00+00:00"}, "coarser bucket"),
    ],
)
async def test_bad_uptime_requests_are_422(
    client: httpx.AsyncClient, params: dict[str, str], names: str
) -> None:
    response = await client.get("/api/v1/uptime", params=params)
    assert response.status_code == 422
    assert names in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/reports/households", "/api/v1/reports/teams"])
async def test_bad_report_levels_and_windows_are_422(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path, params={"level": "building"})).status_code == 422
    reversed_window = {"start": WINDOW["end"], "end": WINDOW["start"]}
    assert (await client.get(path, params=reversed_window)).status_code == 422


async def test_household_hours_weight_each_facility(
    client: httpx.AsyncClient, history: None
) -> None:
    response = await client.get("/api/v1/reports/households", params={"level": "grid", **WINDOW})
    rows = {row["id"]: row for row in response.json()}
    # light-1 is b-sun-1's only corridor light: its 2 h weigh all 24 households.
    assert rows["sun-1"]["household_hours_lost"] == pytest.approx(48, abs=0.01)
    assert rows["sun-1"]["households"] == 24
    # pipe-2 serves b-steel-1's 24 households for 3 h.
    assert rows["steel-1"]["household_hours_lost"] == pytest.approx(72, abs=0.01)
    assert rows["sun-2"]["household_hours_lost"] == 0
    assert rows["sun-2"]["availability_weighted"] == 1
    by_community = await client.get(
        "/api/v1/reports/households", params={"level": "community", **WINDOW}
    )
    assert {r["id"] for r in by_community.json()} == {"sunshine", "steel"}


def _step(
    order_id: int, action: str, before: OrderStatus, after: OrderStatus, at: datetime
) -> OrderTransition:
    return OrderTransition(
        order_id=order_id,
        action=action,
        from_status=before,
        to_status=after,
        actor="test",
        version=1,
        at=at,
    )


@pytest.fixture
async def orders(sessions: Sessions) -> None:
    """Two grid sun-1 orders with their history: one clean fix, one reopened after its fix."""
    async with sessions.begin() as session:
        await seed_default_policies(session, now=T0)
    await seed(
        sessions,
        make_order(id=1, status=OrderStatus.CLOSED.value, created_at=T0),
        make_order(
            id=2,
            device_id="pipe-1",
            fault_code="burst",
            status=OrderStatus.ACKNOWLEDGED.value,
            created_at=T0 + HOUR,
        ),
    )
    await seed(
        sessions,
        _step(1, "ack", OrderStatus.OPEN, OrderStatus.ACKNOWLEDGED, T0 + 0.5 * HOUR),
        _step(1, "resolve", OrderStatus.ACKNOWLEDGED, OrderStatus.RESOLVED, T0 + 2 * HOUR),
        _step(1, "close", OrderStatus.RESOLVED, OrderStatus.CLOSED, T0 + 3 * HOUR),
        _step(2, "resolve", OrderStatus.OPEN, OrderStatus.RESOLVED, T0 + 2 * HOUR),
        _step(2, "reopen", OrderStatus.RESOLVED, OrderStatus.OPEN, T0 + 5 * HOUR),
        _step(2, "ack", OrderStatus.OPEN, OrderStatus.ACKNOWLEDGED, T0 + 6 * HOUR),
    )


async def test_team_league_from_order_history(
    client: httpx.AsyncClient, history: None, orders: None
) -> None:
    response = await client.get("/api/v1/reports/teams", params={"level": "grid", **WINDOW})
    rows = {row["id"]: row for row in response.json()}
    sun = rows["sun-1"]
    assert sun["orders_raised"] == 2 and sun["orders_resolved"] == 2
    # First acknowledgement: 30 min, and 1 h (resolving unacknowledged acknowledges).
    assert sun["mtta_s"] == pytest.approx((1800 + 3600) / 2)
    assert sun["mttr_s"] == pytest.approx((7200 + 3600) / 2)
    assert sun["first_time_fix_rate"] == 0.5
    assert sun["resolved_at_grid"] == 1 and sun["escalated_to_street"] == 0
    assert sun["sla_compliance"] == 1
    # Order 2 was reopened and is open at the window's end, 23 h old.
    assert sun["backlog"] == {"lt_1h": 0, "1h_24h": 1, "1d_7d": 0, "gt_7d": 0}
    # MTBF: two devices x 24 h monitored over one failure that began in the window.
    assert sun["mtbf_s"] == pytest.approx(2 * 24 * 3600, abs=0.1)
    assert rows["sun-2"]["mtta_s"] is None and rows["sun-2"]["orders_raised"] == 0


async def test_street_headline(client: httpx.AsyncClient, history: None, orders: None) -> None:
    body = (await client.get("/api/v1/reports/street", params=WINDOW)).json()
    assert body["communities"] == 2 and body["grids"] == 3 and body["buildings"] == 3
    assert body["devices"] == 5 and body["team_members"] == 6 and body["households"] == 72
    assert body["orders_raised"] == 2
    assert body["resolved_by_tier"] == {"grid": 2, "community": 0, "street": 0}
    assert body["household_hours_lost"] == pytest.approx(48 + 72, abs=0.01)


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


async def test_csv_beside_each_report(
    client: httpx.AsyncClient, history: None, orders: None
) -> None:
    buckets = _csv(
        await client.get("/api/v1/uptime", params={"scope": "street", "format": "csv", **WINDOW})
    )
    assert buckets[0] == ["scope", "id", "name", "start", "end", "availability", "down_s"]
    assert len(buckets) == 1 + 2
    outages = _csv(
        await client.get(
            "/api/v1/uptime",
            params={"scope": "street", "format": "csv", "rows": "outages", **WINDOW},
        )
    )
    assert outages[0] == ["device_id", "code", "start", "end", "duration_s"]
    assert [row[0] for row in outages[1:]] == ["pipe-2", "light-1"]
    households = _csv(
        await client.get("/api/v1/reports/households", params={"format": "csv", **WINDOW})
    )
    assert households[0] == [
        "id",
        "name",
        "households",
        "household_hours_lost",
        "availability_weighted",
    ]
    teams = _csv(await client.get("/api/v1/reports/teams", params={"format": "csv", **WINDOW}))
    assert teams[0][-4:] == ["backlog_lt_1h", "backlog_1h_24h", "backlog_1d_7d", "backlog_gt_7d"]
    assert "sla_compliance" in teams[0] and len(teams) == 1 + 3
    street = _csv(await client.get("/api/v1/reports/street", params={"format": "csv", **WINDOW}))
    assert street[0] == ["figure", "value"]
    assert ["resolved_by_tier.grid", "2"] in street


def test_csv_cells_cannot_run_as_formulas() -> None:
    from api.csv import csv_cell

    assert [csv_cell(v) for v in ("=SUM(A1)", "+1", "-x", "@a", "\tx", "\rx")] == [
        "'=SUM(A1)",
        "'+1",
        "'-x",
        "'@a",
        "'\tx",
        "'\rx",
    ]
    assert csv_cell(-1.5) == -1.5 and csv_cell(None) == "" and csv_cell("Bldg 1") == "Bldg 1"
