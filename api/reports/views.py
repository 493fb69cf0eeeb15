"""``GET /api/v1/uptime`` and ``GET /api/v1/reports/{households,teams,street}``, JSON or CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from api.csv import FormatQuery, ResponseFormat, csv_response
from api.deps import AdminDep, NowDep, SessionDep, SettingsDep, SiteDep
from api.reports.outputs import (
    BACKLOG_COLUMNS,
    HOUSEHOLD_COLUMNS,
    OUTAGE_COLUMNS,
    STREET_COLUMNS,
    TEAM_COLUMNS,
    UPTIME_BUCKET_COLUMNS,
    bucket_rows,
    household_out,
    street_out,
    street_rows,
    team_csv_row,
    team_out,
    uptime_out,
)
from api.reports.residents import confirmed_rate, resident_figures
from api.reports.schemas import HouseholdRowOut, StreetOut, TeamRowOut, UptimeOut
from api.responses import REQUEST_ERRORS
from api.schemas import IdQuery
from reports.buckets import BucketSize
from reports.scope import Scope
from reports.service import uptime_report
from reports.summaries import Level, household_report, street_report, team_report
from residents.figures import Satisfaction

router = APIRouter(prefix="/api/v1", tags=["reports"])

#: The window when the client gives no ``start``: the seven days before ``end`` (or now).
DEFAULT_WINDOW = timedelta(days=7)

StartQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339; default end - 7 days")]
EndQuery = Annotated[AwareDatetime | None, Query(description="RFC 3339; default now")]


class HouseholdLevel(StrEnum):
    """Rows of the household report."""

    GRID = "grid"
    COMMUNITY = "community"


class UptimeRows(StrEnum):
    """Which table the uptime CSV holds."""

    BUCKETS = "buckets"
    OUTAGES = "outages"


def _window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = end or now
    return (start or end - DEFAULT_WINDOW), end


@router.get("/uptime", response_model=UptimeOut, responses=REQUEST_ERRORS)
async def get_uptime(
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    scope: Scope,
    start: StartQuery = None,
    end: EndQuery = None,
    id: IdQuery = None,
    bucket: BucketSize = BucketSize.DAY,
    format: FormatQuery = ResponseFormat.JSON,
    rows: Annotated[UptimeRows, Query(description="the CSV's table")] = UptimeRows.BUCKETS,
) -> UptimeOut | Response:
    """Availability of a device, building, grid, community, the street or a facility type."""
    window_start, window_end = _window(start, end, now)
    report = await uptime_report(
        session,
        site,
        scope=scope,
        target_id=id,
        start=window_start,
        end=window_end,
        now=now,
        bucket=bucket,
    )
    body = uptime_out(report)
    if format is ResponseFormat.JSON:
        return body
    if rows is UptimeRows.OUTAGES:
        outages = [outage.model_dump() for outage in body.outages]
        return csv_response(outages, OUTAGE_COLUMNS, filename=f"outages-{scope.value}")
    return csv_response(bucket_rows(body), UPTIME_BUCKET_COLUMNS, filename=f"uptime-{scope.value}")


@router.get("/reports/households", response_model=list[HouseholdRowOut], responses=REQUEST_ERRORS)
async def get_household_report(
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    level: HouseholdLevel = HouseholdLevel.GRID,
    start: StartQuery = None,
    end: EndQuery = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> list[HouseholdRowOut] | Response:
    """Household-hours without service and household-weighted availability per grid/community."""
    window_start, window_end = _window(start, end, now)
    found = await household_report(
        session, site, level=Level(level.value), start=window_start, end=window_end, now=now
    )
    body = [household_out(row) for row in found]
    if format is ResponseFormat.JSON:
        return body
    return csv_response(
        [row.model_dump() for row in body], HOUSEHOLD_COLUMNS, filename=f"households-{level}"
    )


@router.get("/reports/teams", response_model=list[TeamRowOut], responses=REQUEST_ERRORS)
async def get_team_report(
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    settings: SettingsDep,
    now: NowDep,
    level: Level = Level.GRID,
    start: StartQuery = None,
    end: EndQuery = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> list[TeamRowOut] | Response:
    """The team league: MTTA, MTTR, MTBF, SLA, tiers, first-time fixes and backlog."""
    window_start, window_end = _window(start, end, now)
    found = await team_report(
        session,
        site,
        level=level,
        start=window_start,
        end=window_end,
        now=now,
        reopen_window_s=settings.reopen_window_s,
    )
    said = await resident_figures(session, site, level=level, start=window_start, end=window_end)
    body = [with_residents(team_out(row), said.get(row.group.id)) for row in found]
    if format is ResponseFormat.JSON:
        return body
    return csv_response(
        [team_csv_row(row) for row in body],
        (*TEAM_COLUMNS, *BACKLOG_COLUMNS),
        filename=f"teams-{level}",
    )


@router.get("/reports/street", response_model=StreetOut, responses=REQUEST_ERRORS)
async def get_street_report(
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    settings: SettingsDep,
    now: NowDep,
    start: StartQuery = None,
    end: EndQuery = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> StreetOut | Response:
    """The street's headline: its size, orders per tier, availability, household-hours."""
    window_start, window_end = _window(start, end, now)
    headline = await street_report(
        session,
        site,
        start=window_start,
        end=window_end,
        now=now,
        reopen_window_s=settings.reopen_window_s,
    )
    said = await resident_figures(
        session, site, level=Level.STREET, start=window_start, end=window_end
    )
    residents = said[site.street.id]
    body = street_out(headline).model_copy(
        update={
            "resident_reports": residents.reports,
            "resident_reports_resolved": residents.resolved,
            "resident_rating": residents.mean_rating,
        }
    )
    if format is ResponseFormat.JSON:
        return body
    return csv_response(street_rows(body), STREET_COLUMNS, filename="street")


def with_residents(row: TeamRowOut, figures: Satisfaction | None) -> TeamRowOut:
    """A team row with what residents said about that grid, community or street."""
    if figures is None:
        return row
    return row.model_copy(
        update={
            "resident_reports": figures.reports,
            "resident_rating": figures.mean_rating,
            "resident_confirmed_rate": confirmed_rate(figures),
        }
    )
