"""record_changes: rows per destination in the caller's transaction, idempotent, scoped."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.destinations import destinations, endpoint_covers
from alerts.notifications.outbox import idempotency_key, record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.raising import handle_event
from governance.model import Department, Site
from storage.relational.outbox_models import NotificationEndpoint, OutboxMessage
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, make_event
from tests.alerts.outbox_helpers import add_endpoint, outbox

HOOK = "https://hooks.example.org/fm"


async def test_a_change_writes_team_topic_stream_and_matching_endpoints(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    team_1 = await add_endpoint(sessions, url=HOOK, scope_kind="team", scope_id="t1")
    grid_1 = await add_endpoint(sessions, kind="wecom", url=HOOK, scope_kind="grid", scope_id="g1")
    await add_endpoint(sessions, url=HOOK, scope_kind="team", scope_id="t2")  # other team
    await add_endpoint(sessions, url=HOOK, scope_kind="team", scope_id="t1", enabled=False)
    # A minor order at grid tier does not concern the community yet.
    await add_endpoint(sessions, url=HOOK, scope_kind="community", scope_id="c1")
    async with sessions.begin() as session:
        [change] = await handle_event(
            session, site=site, event=make_event(LIGHT_RED, "lamp_failure"), now=T0
        )
    rows = await outbox(sessions)
    destinations = {(r.channel, r.team_id, r.endpoint_id, r.state) for r in rows}
    assert destinations == {
        ("mqtt", "t1", None, "pending"),
        ("sse", None, None, "delivered"),
        ("webhook", None, team_1, "pending"),
        ("wecom", None, grid_1, "pending"),
    }
    for row in rows:
        body = json.loads(row.payload)
        assert body["id"] == row.idempotency_key
        assert row.idempotency_key.startswith(f"{change.order_id}:{change.version}:opened:")
        assert (body["order_id"], body["device_id"], body["fault_code"]) == (
            change.order_id,
            LIGHT_RED,
            "lamp_failure",
        )
        assert (body["severity"], body["status"], body["tier"], body["team_id"]) == (
            "minor",
            "open",
            "grid",
            "t1",
        )
        assert body["assignee"] == "mem-1" and body["change"] == "opened"
        assert datetime.fromisoformat(body["at"]) == T0
        assert row.event == "opened" and row.order_id == change.order_id


async def test_recording_the_same_change_twice_adds_nothing(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await add_endpoint(sessions, url=HOOK)
    async with sessions.begin() as session:
        [change] = await handle_event(
            session, site=site, event=make_event(LIGHT_RED, "lamp_failure"), now=T0
        )
    async with sessions.begin() as session:
        assert await record_changes(session, site=site, changes=[change, change], now=T0) == 0
    assert len(await outbox(sessions)) == 3
    # The next change of the same order (a new version) is a new notification.
    async with sessions.begin() as session:
        [cleared] = await handle_event(
            session, site=site, event=make_event(LIGHT_RED, "lamp_failure", active=False), now=T0
        )
    assert cleared.kind is ChangeKind.RECOVERED and cleared.version == change.version + 1
    assert len(await outbox(sessions)) == 6


async def test_a_rolled_back_change_leaves_no_notification(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await add_endpoint(sessions, url=HOOK)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with sessions.begin() as session:
            await handle_event(
                session, site=site, event=make_event(LIGHT_RED, "lamp_failure"), now=T0
            )
            assert (
                len((await session.scalars(select(OutboxMessage.id))).all()) == 3
            )  # written, uncommitted
            raise Boom
    assert await outbox(sessions) == []


async def test_no_changes_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    async with sessions.begin() as session:
        assert await record_changes(session, site=site, changes=[], now=T0) == 0
    assert await outbox(sessions) == []


# Scope matching (pure) ---------------------------------------------------------------------------


def _change(**fields: object) -> OrderChange:
    base = OrderChange(
        kind=ChangeKind.OPENED,
        order_id=1,
        device_id=SHED_GREEN,
        fault_code="port_fault",
        severity="minor",
        priority=0,
        status="open",
        tier="grid",
        team_id="t1",
        grid_id="g1",
        assignee="lead-1",
        occurrences=1,
        version=1,
        at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _endpoint(scope_kind: str, scope_id: str) -> NotificationEndpoint:
    return NotificationEndpoint(
        id=1, kind="webhook", url=HOOK, scope_kind=scope_kind, scope_id=scope_id, enabled=True
    )


@pytest.mark.parametrize(
    ("scope", "change", "covered"),
    [
        (("team", "t1"), _change(), True),
        (("team", "t2"), _change(), False),
        (("grid", "g1"), _change(), True),
        (("grid", "g2"), _change(), False),
        (("community", "c1"), _change(), False),  # small things don't leave the grid
        (("community", "c1"), _change(tier="community"), True),  # escalated
        (("community", "c1"), _change(tier="street"), True),
        (("community", "c1"), _change(severity="critical"), True),  # big things reach it at once
        (("community", "c2"), _change(severity="critical"), False),
        (("street", "st"), _change(tier="community"), False),
        (("street", "st"), _change(tier="street"), True),
        (("street", "st"), _change(severity="critical"), True),
        (("street", "other"), _change(tier="street"), False),
        (("department", "fire"), _change(fault_code="smoke", severity="critical"), True),
        (("department", "fire"), _change(), False),
        (("department", "nobody"), _change(fault_code="smoke"), False),
        (("department", "fire"), _change(kind=ChangeKind.DISPATCHED, department_id="fire"), True),
        (("department", "water"), _change(fault_code="smoke", department_id="fire"), False),
    ],
)
def test_endpoint_scopes(
    site: Site, scope: tuple[str, str], change: OrderChange, covered: bool
) -> None:
    site = replace(site, departments={"fire": Department("fire", "Fire", frozenset({"smoke"}))})
    assert endpoint_covers(_endpoint(*scope), change, site) is covered


async def test_pipe_order_goes_to_its_own_team_topic(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    async with sessions.begin() as session:
        await handle_event(session, site=site, event=make_event(PIPE_YELLOW, "leak"), now=T0)
    [mqtt_row] = [r for r in await outbox(sessions) if r.channel == "mqtt"]
    assert mqtt_row.team_id == "t2"


@pytest.mark.parametrize("quiet", [{"silenced": True}, {"parent_id": 41}])
def test_a_change_that_pages_nobody_is_only_streamed(site: Site, quiet: dict[str, object]) -> None:
    endpoint = _endpoint("team", "t1")
    targets = destinations(_change(**quiet), site=site, endpoints=[endpoint])
    assert [(t.channel.value, t.name) for t in targets] == [("sse", "sse")]
    loud = destinations(_change(), site=site, endpoints=[endpoint])
    assert [t.name for t in loud] == ["sse", "mqtt", "ep1"]


def test_two_departments_dispatched_at_one_version_get_distinct_keys(site: Site) -> None:
    [sse] = destinations(_change(silenced=True), site=site, endpoints=[])
    fire = _change(kind=ChangeKind.DISPATCHED, department_id="fire")
    water = _change(kind=ChangeKind.DISPATCHED, department_id="water")
    assert idempotency_key(fire, sse) == "1:1:dispatched@fire:sse"
    assert idempotency_key(fire, sse) != idempotency_key(water, sse)
