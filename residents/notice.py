"""A grid's public notice board: who serves it, how to call them, what is being fixed.

Only what a resident may see: member names, roles and the buildings they answer for, contact
details only of members who chose ``publish_contact``, the grid's service phone, and the open
problems in plain words. Nothing of any resident: no reporter, no description text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Member, MemberRole, Site
from residents.catalogue import service_of_order_code
from residents.errors import GridNotFoundError
from storage.relational.models import OrderScope, OrderStatus, WorkOrder

_ROLE_WORDS = {
    MemberRole.LEADER: "grid leader",
    MemberRole.FULL_TIME: "full-time grid member",
    MemberRole.PART_TIME: "part-time grid member",
}
_STATUS_WORDS = {
    OrderStatus.OPEN: "reported",
    OrderStatus.ACKNOWLEDGED: "taken by the team",
    OrderStatus.IN_PROGRESS: "being fixed",
    OrderStatus.RESOLVED: "fixed, waiting for confirmation",
}
_TYPE_WORDS = {
    "corridor_light": "corridor light",
    "pipe": "water pipe",
    "charging_shed": "charging shed",
}


@dataclass(frozen=True, slots=True)
class BoardMember:
    """A team member as the public sees them."""

    name: str
    role: str
    buildings: tuple[str, ...]  # building names they answer for
    phone: str | None  # only when the member chose to publish it
    email: str | None


@dataclass(frozen=True, slots=True)
class OpenProblem:
    """One open work order in words."""

    building: str
    problem: str
    status: str
    who: str
    since: str  # ISO 8601 UTC


@dataclass(frozen=True, slots=True)
class NoticeBoard:
    """Everything the notice board of one grid shows."""

    grid_id: str
    grid_name: str
    community_name: str
    team_name: str
    service_phone: str | None
    members: tuple[BoardMember, ...]
    open_problems: tuple[OpenProblem, ...]


async def notice_board(session: AsyncSession, *, site: Site, grid_id: str) -> NoticeBoard:
    """The notice board of ``grid_id``; raises for an unknown grid."""
    grid = site.grids.get(grid_id)
    if grid is None:
        raise GridNotFoundError(f"grid {grid_id!r} not found")
    team = site.teams[grid.team_id]
    people = (team.leader, *team.members)
    orders = await session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.grid_id == grid_id,
            WorkOrder.status.in_([status.value for status in _STATUS_WORDS]),
            WorkOrder.silenced.is_(False),
            WorkOrder.parent_id.is_(None),  # a linked order is part of its parent's problem
        )
        .order_by(WorkOrder.created_at)
    )
    names = {member.id: member.name for member in people}
    return NoticeBoard(
        grid_id=grid.id,
        grid_name=grid.name,
        community_name=site.communities[grid.community_id].name,
        team_name=team.name,
        service_phone=grid.service_phone or None,
        members=tuple(_board_member(site, member) for member in people),
        open_problems=tuple(_problem(site, order, names) for order in orders),
    )


def _board_member(site: Site, member: Member) -> BoardMember:
    published = member.publish_contact
    return BoardMember(
        name=member.name,
        role=_ROLE_WORDS[member.role],
        buildings=tuple(
            site.buildings[b].name if b in site.buildings else b for b in member.buildings
        ),
        phone=(member.contact.phone or None) if published else None,
        email=(member.contact.email or None) if published else None,
    )


def problem_words(site: Site, order: WorkOrder) -> str:
    """What is wrong, e.g. "corridor light (Stair light 1): lamp failure"."""
    service = service_of_order_code(order.fault_code)
    if service is not None:
        return f"reported by residents: {service.name}"
    fault = order.fault_code.replace("_", " ")
    if order.scope is not OrderScope.DEVICE or order.device_id is None:
        return f"{fault} across the building"
    device = site.devices.get(order.device_id)
    if device is None:
        return fault
    facility = _TYPE_WORDS.get(device.type, device.type.replace("_", " "))
    label = f"{facility} ({device.name})" if device.name else facility
    return f"{label}: {fault}"


def _problem(site: Site, order: WorkOrder, names: dict[str, str]) -> OpenProblem:
    building = site.buildings.get(order.building_id)
    return OpenProblem(
        building=building.name if building else order.building_id,
        problem=problem_words(site, order),
        status=_STATUS_WORDS[OrderStatus(order.status)],
        who=names.get(order.assignee or "", "the grid team"),
        since=order.created_at.isoformat(),
    )
