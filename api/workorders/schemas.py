"""Work-order response bodies."""

from __future__ import annotations

from api.schemas import ApiModel, UtcTimestamp


class WorkOrderOut(ApiModel):
    """A job for a grid team about one fault of one device."""

    id: int
    device_id: str
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
    detail: str
    created_at: UtcTimestamp
    acknowledged_at: UtcTimestamp | None
    started_at: UtcTimestamp | None
    resolved_at: UtcTimestamp | None
    closed_at: UtcTimestamp | None
    recovered_at: UtcTimestamp | None
