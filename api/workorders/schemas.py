"""Work-order response bodies."""

from __future__ import annotations

from api.schemas import ApiModel, UtcTimestamp


class WorkOrderOut(ApiModel):
    """A job for a grid team about one fault of one device, or of a whole building."""

    id: int
    scope: str
    device_id: str | None
    fault_code: str
    severity: str
    priority: int
    status: str
    team_id: str
    grid_id: str
    community_id: str
    building_id: str
    assignee: str | None
    tier: str
    occurrences: int
    reopen_count: int
    parent_id: int | None
    silenced: bool
    detail: str
    created_at: UtcTimestamp
    acknowledged_at: UtcTimestamp | None
    started_at: UtcTimestamp | None
    resolved_at: UtcTimestamp | None
    closed_at: UtcTimestamp | None
    recovered_at: UtcTimestamp | None
    cancelled_at: UtcTimestamp | None
    ack_due_at: UtcTimestamp | None
    resolve_due_at: UtcTimestamp | None
    escalated_at: UtcTimestamp | None
    # Send it back with a command (body ``version`` or If-Match): a newer one answers 409.
    version: int
