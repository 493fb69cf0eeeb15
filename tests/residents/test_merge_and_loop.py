"""A resident's report merges with the sensor's order; resolution, rejection and ratings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.lifecycle import Action
from alerts.orders.raising import handle_event
from core.events import DeviceEvent, EventSource
from governance.model import Site
from residents.figures import satisfaction
from residents.notifier import FollowerNotifier
from residents.settings import ResidentSettings
from sensors.catalogue import Severity
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import OrderStatus
from storage.relational.outbox_models import (
    EndpointKind,
    NotificationEndpoint,
    OutboxMessage,
    ScopeKind,
)
from storage.relational.resident_models import ResidentNotice, ResidentReport
from tests.api.conftest import serve
from tests.residents.support import (
    count_orders,
    crew,
    feedback,
    order_of,
    status_of,
    submit,
)


async def sensor_raises_lamp_failure(sessions: async_sessionmaker[AsyncSession], site: Site) -> int:
    now = datetime.now(UTC)
    event = DeviceEvent("light-1", "lamp_failure", True, Severity.MINOR, now, EventSource.RULE)
    async with sessions.begin() as session:
        [opened, *_] = await handle_event(session, site=site, event=event, now=now)
    return opened.order_id


async def add_webhook(sessions: async_sessionmaker[AsyncSession]) -> int:
    endpoint = NotificationEndpoint(
        kind=EndpointKind.WEBHOOK,
        url="http://127.0.0.1:9/resident-sms-gateway",
        scope_kind=ScopeKind.TEAM,
        scope_id="no-such-team",  # hears no order changes: only what residents are sent
        enabled=True,
        created_at=datetime.now(UTC),
    )
    async with sessions.begin() as session:
        session.add(endpoint)
    return endpoint.id


async def test_sensor_order_then_residents_one_order_all_notified(
    public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    order_id = await sensor_raises_lamp_failure(sessions, site)
    first = await submit(
        public, service_code="corridor_light_out", address_id="b-sun-1", email="a@example.org"
    )
    second = await submit(
        public,
        service_code="corridor_light_out",
        address_string="Sunshine grid 1, No. 1",
        phone="13700000000",
    )
    assert await count_orders(sessions) == 1
    for row in (first, second):
        assert "already known" in row["service_notice"]
        assert (await order_of(sessions, row["service_request_id"])).id == order_id
    endpoint_id = await add_webhook(sessions)
    notifier = FollowerNotifier(
        sessions=sessions, site=site, settings=ResidentSettings(notice_endpoint_id=endpoint_id)
    )
    assert await notifier.notify_once() == 0  # nothing resolved yet

    await crew(sessions, site, order_id, Action.RESOLVE)
    assert await notifier.notify_once() == 2
    assert await notifier.notify_once() == 0  # told once per resolution

    async with sessions() as session:
        notices = (await session.scalars(select(ResidentNotice))).all()
        outbox = (await session.scalars(select(OutboxMessage))).all()
    assert sorted(n.channel for n in notices) == ["email", "phone"]
    assert {n.state for n in notices} == {"pending"}
    team_told = [row for row in outbox if row.event == "resolved" and row.channel == "mqtt"]
    assert len(team_told) == 1  # the sensor order's own notification of the resolution
    residents_told = [row for row in outbox if row.event == "resident_resolved"]
    assert len(residents_told) == 2
    assert {row.endpoint_id for row in residents_told} == {endpoint_id}
    assert await status_of(public, first["service_request_id"]) == "closed"


async def test_rejection_reopens_and_rating_shows_in_team_figures(
    public: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    make_resident_app: Callable[..., FastAPI],
) -> None:
    row = await submit(public, service_code="water_leak", address_id="b-sun-1", email="r@x.org")
    request_id, token = row["service_request_id"], row["token"]
    assert "opened order" in row["service_notice"]
    order = await order_of(sessions, request_id)
    assert order.scope == "building" and order.team_id == "t-sun-1"
    assert order.assignee == "member-sun-1"  # the member answering for b-sun-1
    early = await feedback(public, request_id, token=token, accepted="true", rating="5")
    assert early.status_code == 409  # nothing to confirm before the team reports it fixed

    await crew(sessions, site, order.id, Action.RESOLVE)
    wrong_token = await feedback(public, request_id, token="guess", accepted="false")
    assert wrong_token.status_code == 404
    rejected = await feedback(public, request_id, token=token, accepted="false", comment="drips")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()[0]["status"] == "open"
    reopened = await order_of(sessions, request_id)
    assert reopened.status == OrderStatus.IN_PROGRESS and reopened.resolved_at is None
    async with sessions() as session:
        last = await session.scalar(
            select(OrderTransition).order_by(OrderTransition.id.desc()).limit(1)
        )
    assert last is not None and last.actor == f"resident:{request_id}"
    assert "drips" in last.note

    await crew(sessions, site, order.id, Action.RESOLVE)
    bad_rating = await feedback(public, request_id, token=token, rating="6")
    assert bad_rating.status_code == 400
    confirmed = await feedback(public, request_id, token=token, accepted="true", rating="4")
    assert confirmed.status_code == 200
    now = datetime.now(UTC)
    async with sessions() as session:
        figures = await satisfaction(
            session, ["sun-1", "sun-2"], now - timedelta(days=1), now + timedelta(days=1)
        )
    grid = figures["sun-1"]
    assert (grid.reports, grid.resolved, grid.ratings) == (1, 1, 1)
    assert grid.mean_rating == 4.0
    assert (grid.confirmed, grid.rejected, grid.first_time_fix_rate) == (1, 1, 0.0)
    assert grid.resolved_by_tier == {"grid": 1}
    assert figures["sun-2"].reports == 0 and figures["sun-2"].mean_rating is None

    # A manager sees it in the team league and the street's headline.
    window = {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
    }
    async with serve(make_resident_app()) as manager:
        league = await manager.get("/api/v1/reports/teams", params={"level": "grid", **window})
        street = await manager.get("/api/v1/reports/street", params=window)
    rows = {row["id"]: row for row in league.json()}
    assert (rows["sun-1"]["resident_reports"], rows["sun-1"]["resident_rating"]) == (1, 4.0)
    assert rows["sun-1"]["resident_confirmed_rate"] == 1.0
    assert (rows["sun-2"]["resident_reports"], rows["sun-2"]["resident_rating"]) == (0, None)
    assert (street.json()["resident_reports"], street.json()["resident_reports_resolved"]) == (1, 1)


async def test_first_time_fix_and_a_second_resolution_notifies_again(
    public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    row = await submit(public, service_code="other", address_id="b-sun-2", phone="13600000000")
    order = await order_of(sessions, row["service_request_id"])
    notifier = FollowerNotifier(sessions=sessions, site=site, settings=ResidentSettings())
    await crew(sessions, site, order.id, Action.RESOLVE)
    assert await notifier.notify_once() == 1
    await crew(sessions, site, order.id, Action.START)  # rework: the fix did not hold
    await crew(sessions, site, order.id, Action.RESOLVE)
    assert await notifier.notify_once() == 1
    accepted = await feedback(
        public, row["service_request_id"], token=row["token"], accepted="yes", rating="5"
    )
    assert accepted.status_code == 200
    now = datetime.now(UTC)
    async with sessions() as session:
        notices = (await session.scalars(select(ResidentNotice))).all()
        figures = await satisfaction(
            session, ["sun-2"], now - timedelta(hours=1), now + timedelta(hours=1)
        )
        report = await session.scalar(select(ResidentReport))
    assert len(notices) == 2 and len({n.idempotency_key for n in notices}) == 2
    assert figures["sun-2"].first_time_fix_rate == 1.0
    assert report is not None and report.rating == 5 and report.confirmed is True


async def test_a_new_report_on_a_resolved_order_sends_it_back_to_work(
    public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    first = await submit(public, service_code="blocked_drain", address_id="b-steel-1")
    order = await order_of(sessions, first["service_request_id"])
    await crew(sessions, site, order.id, Action.RESOLVE)
    again = await submit(public, service_code="blocked_drain", address_id="b-steel-1")
    assert (await order_of(sessions, again["service_request_id"])).id == order.id
    assert (await order_of(sessions, again["service_request_id"])).status == "in_progress"
    assert await count_orders(sessions) == 1
