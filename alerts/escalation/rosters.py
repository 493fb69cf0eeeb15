"""Dated duty rosters: who of a grid team is on duty when nobody answers for the building.

Routing reads the roster inside the order's own transaction, so a roster change applies to
the next order at once, on every replica, without a restart.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidScheduleError
from governance.model import Site
from storage.relational.sla_models import DutyRoster


async def on_duty_members(
    session: AsyncSession, *, team_ids: Collection[str], at: datetime
) -> dict[str, str]:
    """The member on duty at ``at`` of each team that has one (latest-starting shift wins)."""
    if not team_ids:
        return {}
    query = (
        select(DutyRoster.team_id, DutyRoster.member_id)
        .where(
            DutyRoster.team_id.in_(team_ids), DutyRoster.starts_at <= at, DutyRoster.ends_at > at
        )
        .order_by(DutyRoster.starts_at.desc(), DutyRoster.id.desc())
    )
    on_duty: dict[str, str] = {}
    for team_id, member_id in (await session.execute(query)).all():
        on_duty.setdefault(team_id, member_id)
    return on_duty


def team_member_ids(site: Site, team_id: str) -> frozenset[str]:
    """The leader and members of a team (InvalidScheduleError for an unknown team)."""
    team = site.teams.get(team_id)
    if team is None:
        raise InvalidScheduleError(f"the site has no team {team_id!r}")
    return frozenset({team.leader.id, *(member.id for member in team.members)})


async def add_shift(
    session: AsyncSession,
    *,
    site: Site,
    team_id: str,
    member_id: str,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    now: datetime,
) -> DutyRoster:
    """Add a shift; the member must belong to the team and the shift must not be empty."""
    if member_id not in team_member_ids(site, team_id):
        raise InvalidScheduleError(f"{member_id!r} is not a member of team {team_id!r}")
    if ends_at <= starts_at:
        raise InvalidScheduleError("a shift must end after it starts")
    shift = DutyRoster(
        team_id=team_id,
        member_id=member_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        created_at=now,
    )
    session.add(shift)
    await session.flush()
    return shift


async def list_shifts(
    session: AsyncSession, *, team_id: str | None = None, at: datetime | None = None
) -> list[DutyRoster]:
    """Shifts, earliest first; narrowed to a team and/or to those running at ``at``."""
    query = select(DutyRoster)
    if team_id is not None:
        query = query.where(DutyRoster.team_id == team_id)
    if at is not None:
        query = query.where(DutyRoster.starts_at <= at, DutyRoster.ends_at > at)
    rows = await session.scalars(query.order_by(DutyRoster.starts_at, DutyRoster.id))
    return list(rows.all())


async def delete_shift(session: AsyncSession, *, shift_id: int) -> bool:
    """Remove a shift; False when there was none with that id."""
    result = await session.execute(delete(DutyRoster).where(DutyRoster.id == shift_id))
    return bool(getattr(result, "rowcount", 0))
