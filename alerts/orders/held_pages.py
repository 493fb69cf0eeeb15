"""The grouping decision over held pages, and the loop that makes it.

Every ``FM_GROUP_DECIDE_INTERVAL_S`` one transaction claims the held pages whose hold is over
(``UPDATE … SET page_due_at = NULL … RETURNING``: of two replicas deciding at once, exactly one
gets each page, and on SQLite the claim takes the write lock before anything is read) and, per
fault code, applies ``alerts.orders.grouping.plan``:

* a held episode that already ended pages nobody: its outage stays in uptime, no order ever;
* still-open held episodes go to the street, community or building incident the plan opens
  (with every other held episode of that area, due or not), or to the device's own order.

Nothing here touches an episode that ended: no order is created for a device already back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner, every
from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.grouping import GroupingPolicy, Topology, plan
from alerts.orders.incidents import open_incident
from alerts.orders.raising import page_held_episode
from core.clock import Clock, utcnow
from core.settings import Settings
from governance.model import Site
from storage.relational.models import Episode


@dataclass(slots=True)
class DecisionStats:
    """Counters since the decider started (for /metrics and tests)."""

    rounds: int = 0  # decisions that committed
    dropped: int = 0  # held pages whose outage ended inside the hold: nobody paged
    grouped: int = 0  # held pages that went to an incident
    own_orders: int = 0  # held pages that became the device's own order
    opened: int = 0  # orders opened (incidents and own orders)
    failed: int = 0  # rounds that raised; logged with the traceback


@dataclass(frozen=True, slots=True)
class Decided:
    """What one decision did."""

    changes: list[OrderChange]
    dropped: int
    grouped: int
    own_orders: int


async def decide_held_pages(
    session: AsyncSession,
    *,
    site: Site,
    topology: Topology,
    policy: GroupingPolicy,
    now: datetime,
    reopen_window: timedelta,
) -> Decided:
    """Decide every held page due at ``now`` inside the caller's transaction."""
    claim = (
        update(Episode)
        .where(Episode.page_due_at <= now)
        .values(page_due_at=None)
        .returning(Episode)
        .execution_options(populate_existing=True)
    )
    due = list((await session.scalars(claim)).all())
    changes: list[OrderChange] = []
    dropped = grouped = own = 0
    for code in sorted({episode.code for episode in due}):
        of_code = [episode for episode in due if episode.code == code]
        still_down = {e.device_id: e for e in of_code if e.ended_at is None}
        dropped += len(of_code) - len(still_down)
        if not still_down:
            continue
        wave = await _wave(session, code)
        held = {e.device_id: e for e in wave if e.ended_at is None and e.page_due_at is not None}
        held.update(still_down)
        down = {e.device_id for e in wave} | {e.device_id for e in of_code}
        decided = plan(topology, policy, down=down, held=held.keys(), due=still_down.keys())
        for incident in decided.incidents:
            members = [held[device_id] for device_id in sorted(incident.devices)]
            grouped += len(members)
            changes.extend(
                await open_incident(
                    session, site=site, plan=incident, code=code, members=members, now=now
                )
            )
        for device_id in sorted(decided.own_orders):
            own += 1
            changes.extend(
                await page_held_episode(
                    session,
                    site=site,
                    episode=still_down[device_id],
                    now=now,
                    reopen_window=reopen_window,
                )
            )
    await record_changes(session, site=site, changes=changes, now=now)
    return Decided(changes=changes, dropped=dropped, grouped=grouped, own_orders=own)


async def _wave(session: AsyncSession, code: str) -> Sequence[Episode]:
    """The code's open episodes and its ended ones still held (blips of the current wave)."""
    query = (
        select(Episode)
        .where(
            Episode.code == code,
            or_(Episode.ended_at.is_(None), Episode.page_due_at.is_not(None)),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).all()


class HeldPageDecider(LoopOwner):
    """Decides held pages every interval; ``async with HeldPageDecider(...) as decider``.

    Several replicas may run one each: the claim gives every due page to exactly one of them.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.stats = DecisionStats()
        self._sessions = sessions
        self._site = site
        self._topology = Topology(site)
        self._policy = GroupingPolicy.of(settings, site)
        self._reopen_window = timedelta(seconds=settings.reopen_window_s)
        self._interval_s = settings.group_decide_interval_s
        self._clock = clock
        self._loops = BackgroundLoops("HeldPageDecider")

    @property
    def policy(self) -> GroupingPolicy:
        """The grouping parameters in force."""
        return self._policy

    async def decide_once(self) -> Decided:
        """One decision now, in one transaction."""
        async with self._sessions.begin() as session:
            decided = await decide_held_pages(
                session,
                site=self._site,
                topology=self._topology,
                policy=self._policy,
                now=self._clock(),
                reopen_window=self._reopen_window,
            )
        stats = self.stats
        stats.rounds += 1
        stats.dropped += decided.dropped
        stats.grouped += decided.grouped
        stats.own_orders += decided.own_orders
        stats.opened += sum(1 for c in decided.changes if c.kind is ChangeKind.OPENED)
        return decided

    async def __aenter__(self) -> HeldPageDecider:
        # A failed round leaves the pages held: the next round decides them.
        decisions = every(
            self._interval_s, self.decide_once, stats=self.stats, what="deciding held pages"
        )
        self._loops.start({"alerts-held-pages": decisions})
        return self
