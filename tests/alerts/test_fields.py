"""One definition of an order's public fields: the row, the change record, the notification
payload and the API schema all carry every one of :data:`ORDER_FIELDS`."""

from __future__ import annotations

import json
from dataclasses import fields

from alerts.notifications.destinations import Destination
from alerts.notifications.outbox import notification, outbox_rows
from alerts.orders.changes import CONTEXT_FIELDS, ChangeKind, OrderChange
from alerts.orders.fields import ORDER_FIELDS, ROW_COLUMN, OrderFacts
from api.workorders.schemas import WorkOrderOut
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.outbox_models import Channel
from tests.alerts.conftest import LIGHT_RED, T0


def _row_names() -> set[str]:
    return {ROW_COLUMN.get(name, name) for name in ORDER_FIELDS}


def test_the_row_has_a_column_for_every_public_field() -> None:
    assert _row_names() <= set(WorkOrder.__table__.columns.keys())


def test_the_api_schema_shows_every_public_field() -> None:
    assert _row_names() <= set(WorkOrderOut.model_fields)


def test_a_change_record_is_the_facts_plus_what_changed() -> None:
    names = [field.name for field in fields(OrderChange)]
    assert names[: len(ORDER_FIELDS)] == list(ORDER_FIELDS)
    what_changed = {"kind", "at", "department_id", "from_tier", "reason"}
    assert set(names) - set(ORDER_FIELDS) == what_changed | set(CONTEXT_FIELDS)


def test_the_notification_carries_every_field_of_a_stored_order() -> None:
    order = WorkOrder(
        id=7,
        version=3,
        device_id=LIGHT_RED,
        fault_code="short_circuit",
        severity="major",
        priority=8,
        status=OrderStatus.ACKNOWLEDGED,
        tier="community",
        team_id="t1",
        grid_id="g1",
        assignee="mem-1",
        occurrences=2,
        parent_id=None,
        silenced=False,
    )
    change = OrderChange.of(order, kind=ChangeKind.ESCALATED, at=T0, from_tier="grid")
    [row] = outbox_rows(change, [Destination(Channel.SSE, "sse")], now=T0)

    payload = json.loads(row["payload"])

    assert payload == notification(change, key=row["idempotency_key"])
    for name in ORDER_FIELDS:
        assert payload[name] == getattr(order, ROW_COLUMN.get(name, name)), name
    assert (payload["change"], payload["from_tier"]) == ("escalated", "grid")
    assert isinstance(OrderChange.of(order, kind=ChangeKind.OPENED, at=T0), OrderFacts)
