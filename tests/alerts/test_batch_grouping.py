"""handle_events with grouping: held pages and incident members, set-based, as one at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.errors import InvalidError
from alerts.orders.batch import device_segments
from alerts.orders.changes import ChangeKind
from alerts.orders.grouping import GroupingPolicy, Topology
from alerts.orders.held_pages import decide_held_pages
from alerts.orders.raising import handle_events
from core.events import DeviceEvent, EventSource
from core.settings import Settings
from sensors.catalogue import OFFLINE, Severity
from storage.relational.models import Base, Episode, WorkOrder
from storage.relational.outbox_models import OutboxMessage
from tests.alerts.conftest import T0
from tests.alerts.escalation_support import seed_policies
from tests.detection.sites import TOWER_LIGHTS, tower_site

Sessions = async_sessionmaker[AsyncSession]
SITE = tower_site()
POLICY = GroupingPolicy.of(Settings(), SITE)
HOLD = POLICY.hold
Kinds = list[list[ChangeKind]]
Rows = dict[str, list[tuple[object, ...]]]


def offline(device_id: str, *, at: datetime, active: bool = True) -> DeviceEvent:
    return DeviceEvent(device_id, OFFLINE, active, Severity.MINOR, at, EventSource.LIVENESS)


async def fresh_schema(engine: AsyncEngine, sessions: Sessions) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await seed_policies(sessions)


async def apply(
    sessions: Sessions, events: Sequence[DeviceEvent], *, now: datetime, together: bool
) -> Kinds:
    """The change kinds of each event, handled in one batch or one transaction each."""
    kinds: Kinds = []
    for batch in [events] if together else [[event] for event in events]:
        async with sessions.begin() as session:
            outcomes = await handle_events(
                session, site=SITE, events=batch, now=now, grouping=POLICY
            )
        for outcome in outcomes:
            assert not isinstance(outcome, InvalidError)
            kinds.append([change.kind for change in outcome])
    return kinds


async def rows(sessions: Sessions) -> Rows:
    """The episodes, orders and outbox rows the events wrote (no ids of episodes)."""
    async with sessions() as session:
        episodes = await session.scalars(select(Episode).order_by(Episode.id))
        orders = await session.scalars(select(WorkOrder).order_by(WorkOrder.id))
        outbox = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return {
            "episodes": [
                (e.device_id, e.started_at, e.ended_at, e.work_order_id, e.page_due_at)
                for e in episodes
            ],
            "orders": [(o.id, o.scope, o.occurrences, o.recovered_at, o.version) for o in orders],
            "outbox": [(m.idempotency_key, m.order_id) for m in outbox],
        }


async def test_a_batch_of_offline_raises_records_every_episode_and_holds_every_page(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    raises = [offline(device, at=T0) for device in TOWER_LIGHTS]
    results: list[tuple[Kinds, Rows]] = []
    for together in (False, True):
        await fresh_schema(engine, sessions)
        kinds = await apply(sessions, raises, now=T0, together=together)
        results.append((kinds, await rows(sessions)))

    (one_by_one, alone), (batched, together_rows) = results
    assert batched == one_by_one == [[]] * len(TOWER_LIGHTS)
    assert together_rows == alone
    assert together_rows["orders"] == [] and together_rows["outbox"] == []
    assert together_rows["episodes"] == [
        (device, T0, None, None, T0 + HOLD) for device in TOWER_LIGHTS
    ]


async def test_a_raise_after_the_last_member_left_recurs_the_incident_as_one_at_a_time(
    engine: AsyncEngine, sessions: Sessions
) -> None:
    newcomer, members = TOWER_LIGHTS[0], TOWER_LIGHTS[1:]
    back = T0 + 2 * HOLD
    events = [offline(device, at=back, active=False) for device in members]
    events.append(offline(newcomer, at=back))
    results: list[tuple[Kinds, Rows]] = []
    for together in (False, True):
        await fresh_schema(engine, sessions)
        await apply(sessions, [offline(d, at=T0) for d in members], now=T0, together=True)
        async with sessions.begin() as session:
            await decide_held_pages(
                session,
                site=SITE,
                topology=Topology(SITE),
                policy=POLICY,
                now=T0 + HOLD,
                reopen_window=HOLD,
            )
        kinds = await apply(sessions, events, now=back, together=together)
        results.append((kinds, await rows(sessions)))

    (one_by_one, alone), (batched, together_rows) = results
    # The last member back recovers the incident; the newcomer down then counts it again.
    assert one_by_one[-2:] == [[ChangeKind.RECOVERED], [ChangeKind.RECURRED]]
    assert batched == one_by_one
    assert together_rows == alone


def test_a_raise_of_a_grouped_code_after_its_clear_starts_a_new_run() -> None:
    a, b, c = TOWER_LIGHTS[:3]
    clear_then_raise = [offline(a, at=T0, active=False), offline(b, at=T0), offline(c, at=T0)]
    raise_then_clear = [offline(a, at=T0), offline(b, at=T0, active=False)]

    assert device_segments(clear_then_raise) == [[0], [1, 2]]
    assert device_segments(raise_then_clear) == [[0, 1]]
