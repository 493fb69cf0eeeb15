"""Submitting a report: check it, place it in a building, then join or open a work order.

A report is routed like a sensor fault. When an order is already open for that building and
the same problem (a sensor's ``lamp_failure`` for "corridor light out", or another resident's
report), the report follows it: no second job. Otherwise it opens a building-scoped order through
``alerts.orders.opening`` (roster, silences, SLA clock, departments) and the outbox, so routing,
deadlines and pages are exactly those of a sensor fault. All in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notifications.outbox import record_changes
from alerts.orders.keys import incident_key
from alerts.orders.lifecycle import Action, transition
from alerts.orders.opening import open_order
from alerts.orders.routing import route_building
from core.events import BuildingEvent
from governance.model import Building, Site
from residents.catalogue import SERVICES, Service
from residents.errors import InvalidReportError, RateLimitedError, UnknownServiceError
from residents.locating import Place, locate
from residents.settings import ResidentSettings
from residents.tokens import digest, new_request_id, new_token
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.resident_models import ResidentReport

#: Orders a new report of the same problem follows; a resolved one is reworked (still broken).
FOLLOWABLE = (
    OrderStatus.OPEN,
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.RESOLVED,
)
_MEDIA_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """Open311's optional contact fields: private, never returned by a public endpoint."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    device_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewReport:
    """A resident's request, as received."""

    service_code: str | None
    place: Place
    description: str = ""
    media_url: str | None = None
    contact: ContactDetails = ContactDetails()


@dataclass(frozen=True, slots=True)
class Submitted:
    """The stored report, its one-time tracking token and the order it follows."""

    report: ResidentReport
    token: str
    order: WorkOrder


def service_for(code: str | None) -> Service:
    """The service ``code`` names; raises for a missing or unknown one."""
    if not code:
        raise InvalidReportError("service_code is required (see services.json)")
    service = SERVICES.get(code)
    if service is None:
        raise UnknownServiceError(code, known=tuple(SERVICES))
    return service


def check_limits(report: NewReport, settings: ResidentSettings) -> None:
    """Refuse oversized fields and media URLs that are not plain http(s)."""
    if len(report.description) > settings.max_description_chars:
        raise InvalidReportError(
            f"description is longer than {settings.max_description_chars} characters"
        )
    address = report.place.address_string
    if address is not None and len(address) > settings.max_address_chars:
        raise InvalidReportError(
            f"address_string is longer than {settings.max_address_chars} characters"
        )
    if report.media_url is not None:
        if len(report.media_url) > settings.max_media_url_chars:
            raise InvalidReportError(
                f"media_url is longer than {settings.max_media_url_chars} characters"
            )
        parts = urlsplit(report.media_url)
        if parts.scheme.lower() not in _MEDIA_SCHEMES or not parts.netloc:
            raise InvalidReportError("media_url must be an http:// or https:// URL")
    contact = report.contact
    if contact.email is not None and len(contact.email) > settings.max_email_chars:
        raise InvalidReportError(f"email is longer than {settings.max_email_chars} characters")
    if contact.email is not None and "@" not in contact.email:
        raise InvalidReportError("email must be an e-mail address")
    for name in ("phone", "first_name", "last_name", "device_id", "account_id"):
        value = getattr(contact, name)
        if value is not None and len(value) > settings.max_contact_chars:
            limit = settings.max_contact_chars
            raise InvalidReportError(f"{name} is longer than {limit} characters")


async def check_rate(
    session: AsyncSession, *, client_hash: str, settings: ResidentSettings, now: datetime
) -> None:
    """Refuse a client that already sent ``post_limit`` reports within the window."""
    since = now - timedelta(seconds=settings.post_window_s)
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(ResidentReport.requested_at)).where(
                ResidentReport.client_hash == client_hash, ResidentReport.requested_at > since
            )
        )
    ).one()
    if count >= settings.post_limit and oldest is not None:
        wait_s = max(1, int((oldest - since).total_seconds()) + 1)
        raise RateLimitedError(
            f"at most {settings.post_limit} reports per {settings.post_window_s:.0f} s from one "
            f"client; try again in {wait_s} s, or call the grid's service phone",
            retry_after_s=wait_s,
        )


async def submit(
    session: AsyncSession,
    *,
    site: Site,
    settings: ResidentSettings,
    report: NewReport,
    client: str,
    now: datetime,
) -> Submitted:
    """Store a report following the order of its problem (opened if none); raises when invalid.

    Checks every field before the rate limit, and both before anything is written.
    """
    service = service_for(report.service_code)
    check_limits(report, settings)
    building = locate(site, report.place, max_distance_m=settings.locate_max_distance_m)
    client_hash = digest(client)
    await check_rate(session, client_hash=client_hash, settings=settings, now=now)
    order = await covering_order(session, site=site, service=service, building_id=building.id)
    joined = order is not None
    if order is None:
        order, joined = await _open(session, site=site, service=service, building=building, now=now)
    elif order.status is OrderStatus.RESOLVED:
        # Someone still sees the problem after the crew called it fixed: back to work.
        order = await transition(
            session,
            site=site,
            order_id=order.id,
            action=Action.START,
            version=order.version,
            actor="resident",
            note=f"a resident reports {service.name} again after the fix",
            now=now,
        )
    token = new_token()
    row = ResidentReport(
        service_request_id=new_request_id(),
        token_hash=digest(token),
        service_code=service.code,
        order_id=order.id,
        joined=joined,
        building_id=building.id,
        grid_id=building.grid_id,
        description=report.description,
        media_url=report.media_url,
        address_string=report.place.address_string,
        lat=report.place.lat,
        lon=report.place.lon,
        client_hash=client_hash,
        requested_at=now,
        updated_at=now,
        rejections=0,
        **_contact_columns(report.contact),
    )
    session.add(row)
    await session.flush()
    return Submitted(report=row, token=token, order=order)


async def covering_order(
    session: AsyncSession, *, site: Site, service: Service, building_id: str
) -> WorkOrder | None:
    """The open order of the building that is this problem (a root order before its children)."""
    same_problem = [WorkOrder.fault_code == service.order_code]
    if service.fault_codes:
        devices = [
            device.id
            for device in site.devices.values()
            if device.building_id == building_id and device.type == service.device_type
        ]
        same_problem.append(
            and_(
                WorkOrder.fault_code.in_(service.fault_codes),
                or_(WorkOrder.device_id.in_(devices), WorkOrder.device_id.is_(None)),
            )
        )
    query = (
        select(WorkOrder)
        .where(
            WorkOrder.building_id == building_id,
            WorkOrder.status.in_([status.value for status in FOLLOWABLE]),
            or_(*same_problem),
        )
        .order_by(WorkOrder.parent_id.is_not(None), WorkOrder.id)
        .limit(1)
    )
    order: WorkOrder | None = await session.scalar(query)
    return order


async def _open(
    session: AsyncSession, *, site: Site, service: Service, building: Building, now: datetime
) -> tuple[WorkOrder, bool]:
    """Open the building's order for this problem, exactly as a building fault opens one; the
    order, and True when another request opened it first (the report joins it)."""
    routing = route_building(site, building_id=building.id, severity=service.severity)
    event = BuildingEvent(
        building_id=building.id,
        group_id=f"building:{building.id}",
        code=service.order_code,
        active=True,
        severity=service.severity,
        ts=now,
        members=(),
        detail=f"Residents report: {service.name} at {building.name}",
    )
    key = incident_key(building.id, service.order_code)
    order, changes = await open_order(
        session, site=site, routing=routing, event=event, key=key, now=now
    )
    await record_changes(session, site=site, changes=changes, now=now)
    return order, not changes


def _contact_columns(contact: ContactDetails) -> dict[str, str | None]:
    return {
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "device_id": contact.device_id,
        "account_id": contact.account_id,
    }
