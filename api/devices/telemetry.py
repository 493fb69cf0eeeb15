"""``GET /api/v1/devices/{device_id}/telemetry``: a metric's history, downsampled to buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from api.csv import CSV_RESPONSES, FormatQuery, ResponseFormat, csv_response
from api.deps import AdminDep, NowDep, SettingsDep, SiteDep, TimeSeriesDep
from api.devices.buckets import choose_every
from api.devices.schemas import TELEMETRY_COLUMNS, TelemetryOut, TelemetryPointOut
from api.errors import InvalidRequestError, NotFoundError
from api.responses import ITEM_ERRORS
from core.settings import Settings
from governance.model import Site
from sensors.profiles import PROFILES

#: The window when the client gives no ``start``: the last week, as every report defaults to.
DEFAULT_WINDOW = timedelta(days=7)

router = APIRouter()


def _window(
    start: datetime | None, end: datetime | None, *, now: datetime, settings: Settings
) -> tuple[datetime, datetime]:
    try:
        end = (end or now).astimezone(UTC)
        start = start.astimezone(UTC) if start is not None else end - DEFAULT_WINDOW
    except OverflowError as exc:
        raise InvalidRequestError(f"the window reaches past the calendar: {exc}") from exc
    if start >= end:
        raise InvalidRequestError(f"start {start.isoformat()} must be before end {end.isoformat()}")
    longest = timedelta(seconds=settings.telemetry_max_window_s)
    if end - start > longest:
        raise InvalidRequestError(
            f"the window is longer than the {longest.days} days one request may span "
            "(FM_TELEMETRY_MAX_WINDOW_S); ask for several shorter windows"
        )
    return start, end


def _unit(site: Site, device_id: str, metric: str) -> str:
    if device_id not in site.devices:
        raise NotFoundError(kind="device", key=device_id)
    device_type = site.devices[device_id].type
    metrics = PROFILES[device_type].metrics
    if metric not in metrics:
        raise InvalidRequestError(
            f"{metric!r} is not a metric of a {device_type}; "
            f"valid metrics: {', '.join(sorted(metrics))}"
        )
    return metrics[metric].unit


@router.get(
    "/{device_id}/telemetry",
    summary="A metric's history in mean/min/max/count buckets (a few hundred at most)",
    response_model=TelemetryOut,
    responses={**ITEM_ERRORS, **CSV_RESPONSES},
)
async def get_telemetry_route(
    device_id: str,
    _admin: AdminDep,
    timeseries: TimeSeriesDep,
    site: SiteDep,
    settings: SettingsDep,
    now: NowDep,
    metric: Annotated[str, Query(min_length=1, max_length=64, description="e.g. temp_c")],
    start: Annotated[
        AwareDatetime | None, Query(description="RFC 3339; default: end minus 7 days")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="RFC 3339; default: now")] = None,
    every: Annotated[
        int | None,
        Query(ge=1, description="bucket width in seconds; widened to fit FM_TELEMETRY_MAX_POINTS"),
    ] = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> TelemetryOut | Response:
    """Buckets of ``every_s`` seconds over ``[start, end)``, aligned to the epoch; empty ones
    are left out, booleans average to the share of true readings."""
    unit = _unit(site, device_id, metric)
    start, end = _window(start, end, now=now, settings=settings)
    if every is not None and every > settings.telemetry_max_window_s:
        raise InvalidRequestError(
            f"every={every} s is wider than the longest window (FM_TELEMETRY_MAX_WINDOW_S)"
        )
    every_s = choose_every(start, end, requested_s=every, max_points=settings.telemetry_max_points)
    buckets = await timeseries.read_buckets(
        device_id=device_id, metric=metric, start=start, end=end, every_s=every_s
    )
    points = [
        TelemetryPointOut(ts=b.ts, mean=b.mean, min=b.min, max=b.max, count=b.count)
        for b in buckets
    ]
    if format is ResponseFormat.CSV:
        return csv_response(
            (point.model_dump() for point in points),
            TELEMETRY_COLUMNS,
            filename=f"{device_id}-{metric}",
        )
    return TelemetryOut(
        device_id=device_id,
        metric=metric,
        unit=unit,
        start=start,
        end=end,
        every_s=every_s,
        points=points,
    )
