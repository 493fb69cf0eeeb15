"""Silences (maintenance windows) per device, building or grid.

A fault raised inside an active silence still opens its order (``silenced=true``) so the
record and uptime stay honest, but it pages nobody and gets no SLA clock. Ending or deleting a
silence does not wake orders already opened inside it: they stay silenced until closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidScheduleError
from governance.model import Site
from storage.relational.sla_models import Silence, SilenceScope


async def active_silences(session: AsyncSession, *, at: datetime) -> list[Silence]:
    """Every silence active at ``at``, oldest first (a small table: read once per batch)."""
    query = select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at)
    return list((await session.scalars(query.order_by(Silence.id))).all())


def covering(
    silences: Sequence[Silence], *, device_id: str | None, building_id: str, grid_id: str
) -> Silence | None:
    """The oldest of ``silences`` covering the device, its building or its grid; None if none."""
    scopes = {(SilenceScope.BUILDING.value, building_id), (SilenceScope.GRID.value, grid_id)}
    if device_id is not None:
        scopes.add((SilenceScope.DEVICE.value, device_id))
    return next((s for s in silences if (s.scope_kind, s.scope_id) in scopes), None)


def _check_scope(site: Site, scope_kind: SilenceScope, scope_id: str) -> None:
    known = {
        SilenceScope.DEVICE: site.devices,
        SilenceScope.BUILDING: site.buildings,
        SilenceScope.GRID: site.grids,
    }[scope_kind]
    if scope_id not in known:
        raise InvalidScheduleError(f"the site has no {scope_kind.value} {scope_id!r}")


async def create_silence(
    session: AsyncSession,
    *,
    site: Site,
    scope_kind: SilenceScope,
    scope_id: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    created_by: str,
    now: datetime,
) -> Silence:
    """Add a silence; the scope must exist and the window must end after it starts and now."""
    _check_scope(site, scope_kind, scope_id)
    if ends_at <= starts_at:
        raise InvalidScheduleError("a silence must end after it starts")
    if ends_at <= now:
        raise InvalidScheduleError("a silence that has already ended would silence nothing")
    silence = Silence(
        scope_kind=scope_kind.value,
        scope_id=scope_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=created_by,
        created_at=now,
    )
    session.add(silence)
    await session.flush()
    return silence


async def list_silences(
    session: AsyncSession,
    *,
    active_at: datetime | None = None,
    scope_kind: SilenceScope | None = None,
    scope_id: str | None = None,
) -> list[Silence]:
    """Silences, soonest start first; narrowed to those active at ``active_at`` if given."""
    query = select(Silence)
    if active_at is not None:
        query = query.where(Silence.starts_at <= active_at, Silence.ends_at > active_at)
    if scope_kind is not None:
        query = query.where(Silence.scope_kind == scope_kind.value)
    if scope_id is not None:
        query = query.where(Silence.scope_id == scope_id)
    rows = await session.scalars(query.order_by(Silence.starts_at, Silence.id))
    return list(rows.all())


async def delete_silence(session: AsyncSession, *, silence_id: int) -> bool:
    """Remove a silence; False when there was none with that id."""
    result = await session.execute(delete(Silence).where(Silence.id == silence_id))
    return bool(getattr(result, "rowcount", 0))
