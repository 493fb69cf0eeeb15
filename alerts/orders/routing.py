"""Routing of a fault to a grid team and member, and the order's priority.

Priority is one integer, larger = more urgent. Severity dominates; the building's care colour
only orders faults *within* a severity, so a critical fault in a green building still outranks a
major fault in a red one. Both weights live in :data:`CARE_RANK` and ``Severity.rank``:

=========  =====  ======  =====
severity   green  yellow  red
=========  =====  ======  =====
minor        3      4       5
major        6      7       8
critical     9     10      11
=========  =====  ======  =====

``priority = severity.rank * len(CARE_RANK) + CARE_RANK[care]``: because a care bonus never
reaches the width of one severity step, the order is lexicographic by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import UnknownBuildingError, UnknownDeviceError
from alerts.escalation.rosters import on_duty_members
from governance.model import CareColour, Site, Tier
from sensors.catalogue import Severity
from storage.relational.models import OrderScope

#: How much a building's care colour raises priority within one severity (green lowest).
CARE_RANK: Mapping[CareColour, int] = MappingProxyType(
    {CareColour.GREEN: 0, CareColour.YELLOW: 1, CareColour.RED: 2}
)
_SEVERITY_STEP = len(CARE_RANK)


def priority_of(*, severity: Severity, care: CareColour) -> int:
    """The priority of a fault of ``severity`` in a building of care colour ``care``."""
    return severity.rank * _SEVERITY_STEP + CARE_RANK[care]


@dataclass(frozen=True, slots=True)
class OrderRouting:
    """Where a new work order goes and how urgent it is."""

    device_id: str | None  # None for a building-scoped order
    building_id: str
    grid_id: str
    community_id: str
    team_id: str
    assignee: str
    tier: Tier
    severity: Severity
    priority: int
    scope: OrderScope = OrderScope.DEVICE  # incidents: building, community or street


def route_fault(site: Site, *, device_id: str, severity: Severity) -> OrderRouting:
    """Route a fault of a device: its grid's team, the member answering for the building."""
    try:
        route = site.route(device_id)
    except KeyError as exc:
        raise UnknownDeviceError(device_id) from exc
    return OrderRouting(
        device_id=device_id,
        building_id=route.building.id,
        grid_id=route.grid.id,
        community_id=route.community.id,
        team_id=route.team.id,
        assignee=route.assignee.id,
        # Every order starts in the grid; SLA escalation moves it up later.
        tier=Tier.GRID,
        severity=severity,
        priority=priority_of(severity=severity, care=route.building.care),
    )


def route_building(site: Site, *, building_id: str, severity: Severity) -> OrderRouting:
    """Route a building-wide fault: its grid's team, the member answering for the building."""
    building = site.buildings.get(building_id)
    if building is None:
        raise UnknownBuildingError(building_id)
    grid = site.grids[building.grid_id]
    team = site.teams[grid.team_id]
    return OrderRouting(
        device_id=None,
        building_id=building.id,
        grid_id=grid.id,
        community_id=grid.community_id,
        team_id=team.id,
        assignee=team.responsible_for(building.id).id,
        tier=Tier.GRID,
        severity=severity,
        priority=priority_of(severity=severity, care=building.care),
        scope=OrderScope.BUILDING,
    )


async def with_rosters(
    session: AsyncSession, *, site: Site, routings: Sequence[OrderRouting], at: datetime
) -> list[OrderRouting]:
    """``routings`` with the duty roster applied: when nobody answers for the building (the
    grid leader would take it), the member on duty at ``at`` does, if any (one query).

    Reads the roster in the caller's transaction, so roster edits route the next order.
    """
    to_leader = [routing.assignee == site.teams[routing.team_id].leader.id for routing in routings]
    teams = {routing.team_id for routing, leader in zip(routings, to_leader, strict=True) if leader}
    on_duty = await on_duty_members(session, team_ids=teams, at=at)
    return [
        replace(routing, assignee=on_duty[routing.team_id])
        if leader and routing.team_id in on_duty
        else routing
        for routing, leader in zip(routings, to_leader, strict=True)
    ]
