"""Domain report results → response bodies and CSV rows."""

from __future__ import annotations

from typing import Any

from api.reports.schemas import (
    BucketOut,
    HouseholdRowOut,
    OutageOut,
    ResolvedByTierOut,
    StreetOut,
    TeamRowOut,
    UptimeOut,
)
from governance.model import Tier
from reports.service import UptimeReport, as_datetime
from reports.summaries import HouseholdRow, StreetHeadline, TeamRow

#: Columns of each CSV answer, in order (docs/reports.md).
UPTIME_BUCKET_COLUMNS = ("scope", "id", "name", "start", "end", "availability", "down_s")
OUTAGE_COLUMNS = ("device_id", "code", "start", "end", "duration_s")
HOUSEHOLD_COLUMNS = tuple(HouseholdRowOut.model_fields)
TEAM_COLUMNS = tuple(name for name in TeamRowOut.model_fields if name != "backlog")
BACKLOG_COLUMNS = ("backlog_lt_1h", "backlog_1h_24h", "backlog_1d_7d", "backlog_gt_7d")
STREET_COLUMNS = ("figure", "value")


def uptime_out(report: UptimeReport) -> UptimeOut:
    """The JSON body of ``GET /api/v1/uptime``."""
    totals = report.totals
    return UptimeOut(
        scope=report.target.scope.value,
        id=report.target.id,
        name=report.target.name,
        start=report.start,
        end=report.end,
        availability=totals.availability,
        monitored_s=totals.monitored_s,
        down_s=totals.down_s,
        maintenance_s=totals.maintenance_s,
        devices=totals.devices,
        outages=[
            OutageOut(
                device_id=o.device_id,
                code=",".join(o.codes),
                start=as_datetime(o.start),
                end=as_datetime(o.end),
                duration_s=o.duration_s,
            )
            for o in report.outages
        ],
        outages_total=report.outages_total,
        buckets=[
            BucketOut(start=b.start, end=b.end, availability=b.availability, down_s=b.down_s)
            for b in report.buckets
        ],
        mtta_s=report.mtta_s,
        mttr_s=report.mttr_s,
    )


def bucket_rows(body: UptimeOut) -> list[dict[str, Any]]:
    """The buckets as CSV rows, each naming the scope."""
    return [
        {"scope": body.scope, "id": body.id, "name": body.name, **bucket.model_dump()}
        for bucket in body.buckets
    ]


def household_out(row: HouseholdRow) -> HouseholdRowOut:
    """One row of ``GET /api/v1/reports/households``."""
    return HouseholdRowOut(
        id=row.group.id,
        name=row.group.name,
        households=row.totals.households,
        household_hours_lost=row.totals.household_hours_lost,
        availability_weighted=row.totals.availability_weighted,
    )


def team_out(row: TeamRow) -> TeamRowOut:
    """One row of ``GET /api/v1/reports/teams``."""
    figures = row.figures
    return TeamRowOut(
        id=row.group.id,
        name=row.group.name,
        orders_raised=figures.orders_raised,
        orders_resolved=figures.orders_resolved,
        mtta_s=figures.mtta_s,
        mttr_s=figures.mttr_s,
        mtbf_s=figures.mtbf_s,
        sla_compliance=figures.sla_compliance,
        resolved_at_grid=figures.tier_share(Tier.GRID),
        escalated_to_community=figures.tier_share(Tier.COMMUNITY),
        escalated_to_street=figures.tier_share(Tier.STREET),
        first_time_fix_rate=figures.first_time_fix_rate,
        backlog=dict(figures.backlog),
    )


def team_csv_row(row: TeamRowOut) -> dict[str, Any]:
    """A team row flattened for CSV: the backlog buckets become ``backlog_<age>`` columns."""
    flat = row.model_dump(exclude={"backlog"})
    flat.update({f"backlog_{age}": count for age, count in row.backlog.items()})
    return flat


def street_out(headline: StreetHeadline) -> StreetOut:
    """The body of ``GET /api/v1/reports/street``."""
    return StreetOut(
        communities=headline.communities,
        grids=headline.grids,
        buildings=headline.buildings,
        devices=headline.devices,
        team_members=headline.team_members,
        households=headline.households,
        orders_raised=headline.figures.orders_raised,
        resolved_by_tier=ResolvedByTierOut(**headline.figures.resolved_by_tier),
        availability=headline.availability,
        household_hours_lost=headline.household_hours_lost,
    )


def street_rows(body: StreetOut) -> list[dict[str, Any]]:
    """The headline as ``figure,value`` CSV rows (the tiers as ``resolved_by_tier.<tier>``)."""
    flat = body.model_dump(exclude={"resolved_by_tier"})
    flat.update({f"resolved_by_tier.{k}": v for k, v in body.resolved_by_tier.model_dump().items()})
    return [{"figure": name, "value": value} for name, value in flat.items()]
