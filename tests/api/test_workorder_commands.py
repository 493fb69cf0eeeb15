"""Work-order commands over HTTP: 200/401/404/409/422, If-Match or no version at all, the
concurrent-ack race on SQLite and PostgreSQL, reassign, comments and history; a refused request
changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import StaleOrderError
from api.app import create_app
from api.workorders.commands import run_guarded
from core.settings import Settings
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.outbox_models import OutboxMessage
from storage.relational.schema import metadata
from tests.api.conftest import FakeTimeSeries, make_order, seed, serve

Sessions = async_sessionmaker[AsyncSession]
BASE = "/api/v1/workorders"

ROUTES = [
    *(("POST", f"{BASE}/1/{action}") for action in ("ack", "start", "resolve", "close", "cancel")),
    ("POST", f"{BASE}/1/reassign"),
    ("GET", f"{BASE}/1/comments"),
    ("POST", f"{BASE}/1/comments"),
    ("GET", f"{BASE}/1/history"),
]


async def add(sessions: Sessions, status: OrderStatus = OrderStatus.OPEN) -> int:
    """An order of team t-sun-1 (lead-sun-1, member-sun-1) in ``status``, at version 1."""
    order = make_order(status=status.value)
    await seed(sessions, order)
    return order.id


async def snapshot(client: httpx.AsyncClient, order_id: int) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    order = (await client.get(f"{BASE}/{order_id}")).json()
    history = (await client.get(f"{BASE}/{order_id}/history")).json()
    return {"order": order, "history": history}


async def outbox_rows(sessions: Sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_every_route_needs_the_token(
    make_app: Any, method: str, path: str, token: str | None
) -> None:
    async with serve(make_app(), token=token) as anonymous:
        response = await anonymous.request(method, path, json={"version": 1})
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_ack_returns_the_order_as_get_does_with_its_etag(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    order_id = await add(sessions)

    response = await client.post(f"{BASE}/{order_id}/ack", json={"version": 1, "note": "on it"})

    assert response.status_code == 200
    assert response.json() == (await client.get(f"{BASE}/{order_id}")).json()
    assert response.json()["status"] == "acknowledged" and response.json()["version"] == 2
    assert response.json()["acknowledged_at"] is not None
    assert response.headers["ETag"] == '"2"'
    assert await outbox_rows(sessions) > 0  # notified in the same transaction


async def test_the_full_lifecycle_with_if_match_and_history(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    order_id = await add(sessions)
    steps = [
        ("ack", {}),
        ("start", {"on_behalf_of": "member-sun-1"}),
        ("resolve", {"note": "replaced the lamp"}),
        ("close", {"note": "lamp replaced, checked at night"}),
    ]
    etag = '"1"'
    for action, body in steps:
        response = await client.post(
            f"{BASE}/{order_id}/{action}", json=body, headers={"If-Match": etag}
        )
        assert response.status_code == 200, response.json()
        etag = response.headers["ETag"]
    assert response.json()["status"] == "closed" and response.json()["closed_at"] is not None

    history = (await client.get(f"{BASE}/{order_id}/history")).json()
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("ack", "open", "acknowledged"),
        ("start", "acknowledged", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("close", "resolved", "closed"),
    ]
    assert {h["actor"] for h in history} == {"admin"}
    assert history[1]["on_behalf_of"] == "member-sun-1"
    assert history[3]["note"] == "lamp replaced, checked at night"


async def test_a_command_without_a_body_takes_the_version_from_if_match(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    order_id = await add(sessions)
    response = await client.post(f"{BASE}/{order_id}/start", headers={"If-Match": 'W/"1"'})
    assert response.status_code == 200 and response.json()["status"] == "in_progress"


async def test_a_command_without_a_version_is_guarded_by_the_transition(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    order_id = await add(sessions)

    acked = await client.post(f"{BASE}/{order_id}/ack", json={"note": "on it"})
    again = await client.post(f"{BASE}/{order_id}/ack", json={})
    resolved = await client.post(f"{BASE}/{order_id}/resolve")

    assert acked.status_code == 200 and acked.json()["version"] == 2
    assert again.status_code == 409 and "is acknowledged: cannot ack" in again.json()["detail"]
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.headers["ETag"] == '"3"'


async def test_a_reassign_without_a_version_goes_through(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    order_id = await add(sessions)
    response = await client.post(
        f"{BASE}/{order_id}/reassign", json={"assignee": "lead-sun-1", "reason": "on leave"}
    )
    assert response.status_code == 200 and response.json()["assignee"] == "lead-sun-1"


async def test_an_unversioned_command_that_loses_a_race_is_judged_again_on_the_new_state(
    sessions: Sessions,
) -> None:
    order_id = await add(sessions)
    seen: list[int] = []

    async def command(version: int) -> WorkOrder:
        seen.append(version)
        if len(seen) == 1:  # someone else's change commits between the read and the write
            async with sessions.begin() as other:
                await other.execute(
                    update(WorkOrder).where(WorkOrder.id == order_id).values(version=2)
                )
            raise StaleOrderError(order_id=order_id, seen=version, version=2, status="open")
        return WorkOrder(id=order_id, version=version + 1)

    async with sessions() as session:
        answer = await run_guarded(session, order_id, None, command)

    assert seen == [1, 2] and answer.version == 3


async def test_a_sent_version_that_is_stale_is_not_retried(sessions: Sessions) -> None:
    order_id = await add(sessions)
    calls: list[int] = []

    async def command(version: int) -> WorkOrder:
        calls.append(version)
        raise StaleOrderError(order_id=order_id, seen=version, version=2, status="open")

    async with sessions() as session:
        with pytest.raises(StaleOrderError):
            await run_guarded(session, order_id, 1, command)
    assert calls == [1]


@pytest.mark.parametrize(
    ("action", "status", "body", "headers", "code", "says"),
    [
        ("ack", "open", {"version": 0}, {}, 422, "version"),
        ("ack", "open", {"version": 1, "colour": "red"}, {}, 422, "colour"),
        ("ack", "open", {}, {"If-Match": "*"}, 422, "is not a version"),
        ("ack", "open", {"version": 1}, {"If-Match": '"2"'}, 422, "disagree"),
        ("ack", "open", {"version": 2}, {}, 409, "now version 1, status open"),
        ("ack", "open", {"version": 1, "on_behalf_of": "lead-sun-2"}, {}, 422, "not a member"),
        ("close", "resolved", {"version": 1}, {}, 422, "close needs a note"),
        ("cancel", "open", {"version": 1, "note": "  "}, {}, 422, "cancel needs a note"),
        ("close", "open", {"version": 1, "note": "x"}, {}, 409, "allowed now: ack, start"),
        ("ack", "acknowledged", {"version": 1}, {}, 409, "is acknowledged: cannot ack"),
        ("start", "closed", {"version": 1}, {}, 409, "allowed now: none"),
        ("resolve", "cancelled", {"version": 1}, {}, 409, "is cancelled"),
    ],
)
async def test_refused_commands_answer_why_and_change_nothing(
    client: httpx.AsyncClient,
    sessions: Sessions,
    action: str,
    status: str,
    body: dict[str, Any],
    headers: dict[str, str],
    code: int,
    says: str,
) -> None:
    order_id = await add(sessions, OrderStatus(status))
    before = await snapshot(client, order_id)

    response = await client.post(f"{BASE}/{order_id}/{action}", json=body, headers=headers)

    assert response.status_code == code
    assert says in response.json()["detail"]
    assert await snapshot(client, order_id) == before
    assert await outbox_rows(sessions) == 0


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_unknown_order_is_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    body = {"version": 1, "note": "n"}
    if path.endswith("/comments"):
        body = {"body": "b"}
    elif path.endswith("/reassign"):
        body = {"assignee": "a", "reason": "r", "version": 1}
    response = await client.request(
        method, path.replace("/1/", "/404/"), json=body if method == "POST" else None
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "work order 404 not found"}


# Reassign ---------------------------------------------------------------------------------------


async def test_reassign_to_the_leader(client: httpx.AsyncClient, sessions: Sessions) -> None:
    order_id = await add(sessions)
    response = await client.post(
        f"{BASE}/{order_id}/reassign",
        json={"assignee": "lead-sun-1", "reason": "member on leave", "version": 1},
    )
    assert response.status_code == 200
    assert (response.json()["assignee"], response.json()["version"]) == ("lead-sun-1", 2)
    [entry] = (await client.get(f"{BASE}/{order_id}/history")).json()
    assert (entry["action"], entry["from_assignee"], entry["to_assignee"]) == (
        "reassign",
        "member-sun-1",
        "lead-sun-1",
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"assignee": "lead-sun-2", "reason": "r", "version": 1}, 422),  # another team's leader
        ({"assignee": "lead-sun-1", "version": 1}, 422),  # no reason
        ({"assignee": "lead-sun-1", "reason": "r", "version": 3}, 409),
        ({"assignee": "member-sun-1", "reason": "r", "version": 1}, 422),  # already theirs
    ],
)
async def test_refused_reassign_changes_nothing(
    client: httpx.AsyncClient, sessions: Sessions, body: dict[str, Any], code: int
) -> None:
    order_id = await add(sessions)
    before = await snapshot(client, order_id)
    response = await client.post(f"{BASE}/{order_id}/reassign", json=body)
    assert response.status_code == code
    assert await snapshot(client, order_id) == before


# Comments ---------------------------------------------------------------------------------------


async def test_comments_in_a_closed_order(client: httpx.AsyncClient, sessions: Sessions) -> None:
    order_id = await add(sessions, OrderStatus.CLOSED)
    first = await client.post(f"{BASE}/{order_id}/comments", json={"body": "resident thanked us"})
    second = await client.post(
        f"{BASE}/{order_id}/comments", json={"body": "photo filed", "on_behalf_of": "lead-sun-1"}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    listed = (await client.get(f"{BASE}/{order_id}/comments")).json()
    assert [(c["body"], c["author"], c["on_behalf_of"]) for c in listed] == [
        ("resident thanked us", "admin", None),
        ("photo filed", "admin", "lead-sun-1"),
    ]
    assert listed[0]["id"] == first.json()["id"]
    assert (await client.get(f"{BASE}/{order_id}")).json()["version"] == 1


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "   "}, {"body": "x", "on_behalf_of": "nobody"}]
)
async def test_bad_comments_are_422_and_store_nothing(
    client: httpx.AsyncClient, sessions: Sessions, body: dict[str, Any]
) -> None:
    order_id = await add(sessions)
    response = await client.post(f"{BASE}/{order_id}/comments", json=body)
    assert response.status_code == 422 and response.json()["detail"]
    assert (await client.get(f"{BASE}/{order_id}/comments")).json() == []


# The race ---------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def race_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    """A fresh schema on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("sent", "loser_hears"),
    [
        ({"version": 1}, "now version 2, status acknowledged"),
        ({}, "is acknowledged: cannot ack"),  # without a version the transition is the guard
    ],
)
async def test_two_crew_members_ack_at_once_one_gets_409(
    race_sessions: Sessions,
    settings: Settings,
    site: Site,
    sent: dict[str, int],
    loser_hears: str,
) -> None:
    order_id = await add(race_sessions)
    app = create_app(settings, site=site, sessions=race_sessions, timeseries=FakeTimeSeries())
    async with serve(app) as client:

        async def ack(member: str) -> httpx.Response:
            return await client.post(
                f"{BASE}/{order_id}/ack", json={**sent, "on_behalf_of": member}
            )

        responses = await asyncio.gather(ack("member-sun-1"), ack("lead-sun-1"))
        history = (await client.get(f"{BASE}/{order_id}/history")).json()

    assert sorted(r.status_code for r in responses) == [200, 409]
    [won] = [r for r in responses if r.status_code == 200]
    [lost] = [r for r in responses if r.status_code == 409]
    assert loser_hears in lost.json()["detail"]
    assert len(history) == 1
    assert history[0]["on_behalf_of"] == json.loads(won.request.content)["on_behalf_of"]
