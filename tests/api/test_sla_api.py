"""SLA policies, silences, rosters, hand back and department ack over HTTP: 401, 404, 409, 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import DEFAULT_POLICIES, seed_default_policies
from storage.relational.sla_models import DepartmentDispatch
from tests.api.conftest import T0, make_order, seed

Sessions = async_sessionmaker[AsyncSession]
FUTURE = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
async def seeded(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await seed_default_policies(session, now=T0)


ROUTES = [
    ("GET", "/api/v1/sla-policies"),
    ("PUT", "/api/v1/sla-policies/minor"),
    ("GET", "/api/v1/silences"),
    ("POST", "/api/v1/silences"),
    ("DELETE", "/api/v1/silences/1"),
    ("GET", "/api/v1/rosters"),
    ("POST", "/api/v1/rosters"),
    ("DELETE", "/api/v1/rosters/1"),
    ("POST", "/api/v1/workorders/1/hand-back"),
    ("GET", "/api/v1/workorders/1/departments"),
    ("POST", "/api/v1/workorders/1/departments/fire/ack"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_the_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_policies_read_and_update(client: httpx.AsyncClient, seeded: None) -> None:
    listed = (await client.get("/api/v1/sla-policies")).json()
    assert [p["severity"] for p in listed] == ["critical", "major", "minor"]
    assert listed[2]["ack_s"] == DEFAULT_POLICIES["minor"].ack_s  # type: ignore[index]
    body = {"ack_s": 60, "resolve_s": 600, "reminder_s": 30, "department_ack_s": 60}
    put = await client.put("/api/v1/sla-policies/minor", json=body)
    assert put.status_code == 200 and put.json()["ack_s"] == 60
    bad = await client.put("/api/v1/sla-policies/minor", json={**body, "resolve_s": 10})
    assert bad.status_code == 422 and "resolve_s" in bad.json()["detail"]
    assert (await client.put("/api/v1/sla-policies/huge", json=body)).status_code == 422
    dupes = [{**body, "severity": "major"}, {**body, "severity": "major"}]
    assert (await client.put("/api/v1/sla-policies", json=dupes)).status_code == 422
    unchanged = (await client.get("/api/v1/sla-policies")).json()
    assert unchanged[1]["ack_s"] == DEFAULT_POLICIES["major"].ack_s  # type: ignore[index]


async def test_silences_create_list_delete(client: httpx.AsyncClient) -> None:
    body = {
        "scope_kind": "building",
        "scope_id": "b-sun-1",
        "starts_at": "2020-01-01T00:00:00+00:00",
        "ends_at": FUTURE.isoformat(),
        "reason": "pipe replacement",
    }
    created = await client.post("/api/v1/silences", json=body)
    assert created.status_code == 201
    listed = await client.get(
        "/api/v1/silences", params={"active_at": datetime.now(UTC).isoformat()}
    )
    assert [s["id"] for s in listed.json()] == [created.json()["id"]]
    unknown = await client.post("/api/v1/silences", json={**body, "scope_id": "nowhere"})
    assert unknown.status_code == 422 and "nowhere" in unknown.json()["detail"]
    naive = await client.post("/api/v1/silences", json={**body, "ends_at": "2030-01-01T00:00:00"})
    assert naive.status_code == 422
    assert (await client.delete(f"/api/v1/silences/{created.json()['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/silences/{created.json()['id']}")).status_code == 404


async def test_rosters_validate_team_membership(client: httpx.AsyncClient) -> None:
    body = {
        "team_id": "t-sun-1",
        "member_id": "member-sun-1",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(hours=8)).isoformat(),
    }
    created = await client.post("/api/v1/rosters", json=body)
    assert created.status_code == 201
    outsider = await client.post("/api/v1/rosters", json={**body, "member_id": "member-sun-2"})
    assert outsider.status_code == 422 and "not a member" in outsider.json()["detail"]
    at = (T0 + timedelta(hours=1)).isoformat()
    listed = await client.get("/api/v1/rosters", params={"team_id": "t-sun-1", "at": at})
    assert [s["member_id"] for s in listed.json()] == ["member-sun-1"]
    assert (await client.delete(f"/api/v1/rosters/{created.json()['id']}")).status_code == 204
    assert (await client.delete("/api/v1/rosters/999")).status_code == 404


async def test_hand_back_over_http(
    client: httpx.AsyncClient, sessions: Sessions, seeded: None
) -> None:
    await seed(sessions, make_order(tier="community"))
    path = "/api/v1/workorders/1/hand-back"
    assert (
        await client.post(
            "/api/v1/workorders/99/hand-back", json={"to_tier": "grid", "reason": "x", "version": 1}
        )
    ).status_code == 404
    stale = await client.post(path, json={"to_tier": "grid", "reason": "x", "version": 2})
    assert stale.status_code == 409 and "version 1" in stale.json()["detail"]
    up = await client.post(path, json={"to_tier": "street", "reason": "x", "version": 1})
    assert up.status_code == 409
    assert (
        await client.post(path, json={"to_tier": "moon", "reason": "x", "version": 1})
    ).status_code == 422
    done = await client.post(path, json={"to_tier": "grid", "reason": "ours", "version": 1})
    assert done.status_code == 200
    assert done.json()["tier"] == "grid" and done.json()["ack_due_at"] is not None


async def test_department_ack_over_http(client: httpx.AsyncClient, sessions: Sessions) -> None:
    await seed(sessions, make_order(fault_code="smoke", severity="critical"))
    await seed(
        sessions,
        DepartmentDispatch(
            order_id=1,
            department_id="fire",
            dispatched_at=T0,
            ack_due_at=T0,
            next_reminder_at=T0,
            reminders=0,
        ),
    )
    listed = await client.get("/api/v1/workorders/1/departments")
    assert [d["department_id"] for d in listed.json()] == ["fire"]
    assert (await client.get("/api/v1/workorders/9/departments")).status_code == 404
    assert (await client.post("/api/v1/workorders/1/departments/water/ack")).status_code == 404
    acked = await client.post("/api/v1/workorders/1/departments/fire/ack")
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "admin"
    assert (await client.post("/api/v1/workorders/1/departments/fire/ack")).status_code == 409
