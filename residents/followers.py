"""Telling every reporter of an order that it is resolved, once per resolution.

:func:`notify_resolved` finds reports whose order has a ``resolved_at`` they were not told about
(a rework clears it, the next resolution sets a new one) and records, in one transaction with
marking the report told: a ``resident_notices`` row per contact channel they gave (e-mail,
phone), and — when ``FM_OPEN311_NOTICE_ENDPOINT_ID`` names a webhook endpoint — an outbox row the
relay delivers at least once with retries. The keys make a repeated round add nothing.
No mail or SMS channel is built yet: those rows stay ``pending`` for one to pick up.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notifications.outbox import OutboxRow, insert_rows
from alerts.orders.bulk import insert_many_skipping_conflicts
from governance.model import Site
from residents.catalogue import SERVICES
from residents.public import who_is_on_it
from storage.relational.models import WorkOrder
from storage.relational.outbox_models import Channel, OutboxState
from storage.relational.resident_models import ResidentNotice, ResidentReport

#: The event name of a resolution notice (outbox ``event`` and notice ``event``).
RESOLVED_EVENT = "resident_resolved"
#: Version of the resident notice JSON a webhook receives.
NOTICE_SCHEMA = 1


def resolution_message(site: Site, report: ResidentReport, order: WorkOrder) -> str:
    """The words a reporter gets when their problem is fixed."""
    service = SERVICES[report.service_code]
    building = site.buildings.get(report.building_id)
    where = building.name if building else report.building_id
    return (
        f"{service.name} at {where} (request {report.service_request_id}) is reported fixed by "
        f"{who_is_on_it(site, order)}. Please confirm or reject the fix and rate it with "
        "your tracking token."
    )


async def notify_resolved(
    session: AsyncSession,
    *,
    site: Site,
    endpoint_id: int | None,
    now: datetime,
    limit: int,
) -> int:
    """Record the resolution notices still due (at most ``limit`` reports); how many reports."""
    due = (
        await session.execute(
            select(ResidentReport, WorkOrder)
            .join(WorkOrder, WorkOrder.id == ResidentReport.order_id)
            .where(
                WorkOrder.resolved_at.is_not(None),
                or_(
                    ResidentReport.notified_resolution_at.is_(None),
                    ResidentReport.notified_resolution_at != WorkOrder.resolved_at,
                ),
            )
            .order_by(ResidentReport.id)
            .limit(limit)
            .with_for_update(of=ResidentReport, skip_locked=True)
        )
    ).all()
    notices: list[dict[str, object]] = []
    outbox: list[OutboxRow] = []
    told = 0
    for report, order in due:
        assert order.resolved_at is not None
        key = f"{report.id}:{RESOLVED_EVENT}:{order.resolved_at.isoformat()}"
        message = resolution_message(site, report, order)
        channels = [name for name in ("email", "phone") if getattr(report, name)]
        notices.extend(
            {
                "idempotency_key": f"{key}:{channel}",
                "report_id": report.id,
                "order_id": order.id,
                "channel": channel,
                "event": RESOLVED_EVENT,
                "message": message,
                "state": "pending",
                "created_at": now,
            }
            for channel in channels
        )
        if endpoint_id is not None and channels:
            outbox.append(_outbox_row(report, order, key, message, endpoint_id, now))
        report.notified_resolution_at = order.resolved_at
        told += 1
    if notices:
        table = cast(Table, ResidentNotice.__table__)
        await insert_many_skipping_conflicts(
            session, table, notices, unique=table.c.idempotency_key, returning=[table.c.id]
        )
    await insert_rows(session, outbox)
    await session.flush()
    return told


def _outbox_row(
    report: ResidentReport,
    order: WorkOrder,
    key: str,
    message: str,
    endpoint_id: int,
    now: datetime,
) -> OutboxRow:
    """An outbox row for the resident webhook: the relay delivers it like any other."""
    outbox_key = f"resident:{key}"
    payload = {
        "id": outbox_key,
        "schema": NOTICE_SCHEMA,
        "change": RESOLVED_EVENT,
        "at": now.isoformat(),
        "service_request_id": report.service_request_id,
        "order_id": order.id,
        "message": message,
        # The webhook is the operator's own mail/SMS gateway: it needs the address to deliver.
        "contact": {"email": report.email, "phone": report.phone},
    }
    return OutboxRow(
        idempotency_key=outbox_key,
        channel=Channel.WEBHOOK.value,
        team_id=order.team_id,
        endpoint_id=endpoint_id,
        order_id=order.id,
        event=RESOLVED_EVENT,
        payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        state=OutboxState.PENDING.value,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        delivered_at=None,
    )
