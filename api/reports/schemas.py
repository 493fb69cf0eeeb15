"""Response bodies of the uptime and report routes (times RFC 3339 UTC, shares 0..1)."""

from __future__ import annotations

from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from api.schemas import ApiModel, UtcTimestamp


class OutageOut(ApiModel):
    """A merged down interval of one device; ``code`` joins the codes active in it with ``,``."""

    device_id: str
    code: str
    start: UtcTimestamp
    end: UtcTimestamp
    duration_s: float


class BucketOut(ApiModel):
    """One chart bucket (day, week or month in the street's time zone)."""

    start: UtcTimestamp
    end: UtcTimestamp
    availability: float | None
    down_s: float


class UptimeOut(ApiModel):
    """Uptime of a scope over a window; ``id`` is left out for the street."""

    scope: str
    id: str | None
    name: str
    start: UtcTimestamp
    end: UtcTimestamp
    availability: float | None
    monitored_s: float
    down_s: float
    maintenance_s: float
    devices: int
    outages: list[OutageOut]
    outages_total: int
    buckets: list[BucketOut]
    mtta_s: float | None
    mttr_s: float | None

    @model_serializer(mode="wrap")
    def _without_street_id(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        body: dict[str, Any] = handler(self)
        if self.id is None:
            body.pop("id", None)
        return body


class HouseholdRowOut(ApiModel):
    """Household-hours without service of one grid or community."""

    id: str
    name: str
    households: int
    household_hours_lost: float
    availability_weighted: float | None


class TeamRowOut(ApiModel):
    """Team performance of one grid, community or the street (None where there is no data)."""

    id: str
    name: str
    orders_raised: int
    orders_resolved: int
    mtta_s: float | None
    mttr_s: float | None
    mtbf_s: float | None
    sla_compliance: float | None
    resolved_at_grid: float | None
    escalated_to_community: float | None
    escalated_to_street: float | None
    first_time_fix_rate: float | None
    backlog: dict[str, int]
    # What residents said about this part of the street (Open311 reports and their feedback).
    resident_reports: int = 0
    resident_rating: float | None = None  # mean of the ratings (1 to 5)
    resident_confirmed_rate: float | None = None  # share of verdicts that confirmed the fix


class ResolvedByTierOut(ApiModel):
    """Orders raised in the window and resolved, by the tier they were resolved at."""

    grid: int
    community: int
    street: int


class StreetOut(ApiModel):
    """The street's headline figures over a window."""

    communities: int
    grids: int
    buildings: int
    devices: int
    team_members: int
    households: int
    orders_raised: int
    resolved_by_tier: ResolvedByTierOut
    availability: float | None
    household_hours_lost: float
    resident_reports: int = 0  # Open311 reports collected in the window
    resident_reports_resolved: int = 0  # of those, on an order resolved by now
    resident_rating: float | None = None
