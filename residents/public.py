"""What the public may see of a report: the Open311 fields, never the reporter's contact.

Status is the order's: ``open`` while the team works on it, ``closed`` once it is resolved,
closed or cancelled. Address and coordinates are the building's, not where the phone was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Site
from residents.catalogue import SERVICES
from residents.errors import InvalidReportError, ReportNotFoundError
from residents.tokens import digest
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.resident_models import ResidentReport

_CLOSED = frozenset({OrderStatus.RESOLVED, OrderStatus.CLOSED, OrderStatus.CANCELLED})
_STATUS_WORDS = {
    OrderStatus.OPEN: "reported to the grid team",
    OrderStatus.ACKNOWLEDGED: "the grid team has taken it",
    OrderStatus.IN_PROGRESS: "work is under way",
    OrderStatus.RESOLVED: "the team reports it fixed; confirm or reject with your token",
    OrderStatus.CLOSED: "fixed and closed",
    OrderStatus.CANCELLED: "the team found nothing to fix",
}


@dataclass(frozen=True, slots=True)
class PublicRequest:
    """One service request as GeoReport v2 lists it (field names are the spec's)."""

    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str
    address_id: str
    lat: float | None
    long: float | None
    media_url: str | None


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """GET requests' filters (all optional)."""

    ids: tuple[str, ...] = ()
    service_code: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None


def open311_status(order: WorkOrder) -> str:
    """``open`` or ``closed``, the only two statuses of GeoReport v2."""
    return "closed" if OrderStatus(order.status) in _CLOSED else "open"


def who_is_on_it(site: Site, order: WorkOrder) -> str:
    """The team and person answering for the order, in plain words."""
    team = site.teams.get(order.team_id)
    if team is None:
        return order.team_id
    people = {member.id: member.name for member in (team.leader, *team.members)}
    person = people.get(order.assignee or "", "")
    return f"{team.name} ({person})" if person else team.name


def service_notice(site: Site, order: WorkOrder, *, joined: bool) -> str:
    """What the reporter is told at once: known or new, and who is on it."""
    who = who_is_on_it(site, order)
    if joined:
        return f"This problem is already known (order {order.id}); {who} is on it."
    return f"Your report opened order {order.id}; {who} answers for this building."


def public_request(site: Site, report: ResidentReport, order: WorkOrder) -> PublicRequest:
    """The public view of ``report``, which follows ``order``."""
    service = SERVICES[report.service_code]
    building = site.buildings.get(report.building_id)
    status = OrderStatus(order.status)
    notes = f"{_STATUS_WORDS[status]} — {who_is_on_it(site, order)}"
    return PublicRequest(
        service_request_id=report.service_request_id,
        status=open311_status(order),
        status_notes=notes,
        service_name=service.name,
        service_code=service.code,
        description=report.description,
        agency_responsible=who_is_on_it(site, order),
        service_notice=service_notice(site, order, joined=report.joined),
        requested_datetime=report.requested_at,
        updated_datetime=max(report.updated_at, order.updated_at),
        expected_datetime=order.resolve_due_at,
        address=_address(building.name, building.location.text) if building else "",
        address_id=report.building_id,
        lat=building.location.lat if building else None,
        long=building.location.lon if building else None,
        media_url=report.media_url,
    )


async def find_requests(
    session: AsyncSession,
    *,
    site: Site,
    wanted: RequestFilter,
    now: datetime,
    default_days: int,
    max_results: int,
) -> list[PublicRequest]:
    """GET requests: by ids, else by the other filters within the date window (newest first)."""
    if wanted.status is not None and wanted.status not in ("open", "closed"):
        raise InvalidReportError("status must be open or closed")
    query = select(ResidentReport, WorkOrder).join(
        WorkOrder, WorkOrder.id == ResidentReport.order_id
    )
    if wanted.ids:
        query = query.where(ResidentReport.service_request_id.in_(wanted.ids))
    else:
        end = wanted.end or now
        start = wanted.start or end - timedelta(days=default_days)
        if start > end:
            raise InvalidReportError("start_date must be before end_date")
        query = query.where(
            ResidentReport.requested_at >= start, ResidentReport.requested_at <= end
        )
        if wanted.service_code is not None:
            query = query.where(ResidentReport.service_code == wanted.service_code)
        if wanted.status is not None:
            closed = WorkOrder.status.in_([s.value for s in _CLOSED])
            query = query.where(closed if wanted.status == "closed" else ~closed)
    query = query.order_by(ResidentReport.requested_at.desc(), ResidentReport.id.desc())
    rows = (await session.execute(query.limit(max_results))).all()
    return [public_request(site, report, order) for report, order in rows]


async def get_request(session: AsyncSession, *, site: Site, request_id: str) -> PublicRequest:
    """One request by its public id; raises when there is none."""
    row = (
        await session.execute(
            select(ResidentReport, WorkOrder)
            .join(WorkOrder, WorkOrder.id == ResidentReport.order_id)
            .where(ResidentReport.service_request_id == request_id)
        )
    ).first()
    if row is None:
        raise ReportNotFoundError(f"service_request_id {request_id!r} not found")
    report, order = row
    return public_request(site, report, order)


async def report_by_token(session: AsyncSession, token: str) -> ResidentReport:
    """The report a tracking token belongs to; raises when none does."""
    report: ResidentReport | None = await session.scalar(
        select(ResidentReport).where(ResidentReport.token_hash == digest(token))
    )
    if report is None:
        raise ReportNotFoundError("no report has this token")
    return report


def _address(name: str, text: str) -> str:
    parts: Sequence[str] = [part for part in (name, text) if part]
    return ", ".join(parts)
