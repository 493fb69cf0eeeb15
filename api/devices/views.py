"""``GET /api/v1/devices`` and ``GET /api/v1/devices/{device_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator

from api.csv import CSV_RESPONSES, FormatQuery, ResponseFormat, csv_response
from api.deps import AdminDep, SessionDep, SiteDep, TimeSeriesDep
from api.devices.queries import DeviceFilter, DeviceView, device_detail, device_page
from api.devices.schemas import (
    DEVICE_COLUMNS,
    BuildingOut,
    DeviceDetailOut,
    DeviceOut,
    DeviceStatus,
    LatestOut,
    OpenFaultOut,
    ResponsibleOut,
)
from api.devices.telemetry import router as telemetry_router
from api.listing import TOTAL_COUNT_HEADER, PageDep
from api.responses import LOOKUP_ERRORS, REQUEST_ERRORS
from api.schemas import IdQuery, LocationOut
from sensors.profiles import DEVICE_TYPES, PROFILES, MetricKind

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _known_device_type(value: str | None) -> str | None:
    if value is not None and value not in DEVICE_TYPES:
        raise ValueError(
            f"unknown device type {value!r}; valid types: {', '.join(sorted(DEVICE_TYPES))}"
        )
    return value


DeviceTypeQuery = Annotated[
    str | None,
    Query(description=f"one of: {', '.join(sorted(DEVICE_TYPES))}"),
    AfterValidator(_known_device_type),
]


def _device_out(view: DeviceView) -> DeviceOut:
    route = view.route
    return DeviceOut(
        id=route.device.id,
        type=route.device.type,
        name=route.device.name,
        building_id=route.building.id,
        grid_id=route.grid.id,
        community_id=route.community.id,
        team_id=route.team.id,
        status=view.status,
        last_seen_at=view.last_seen_at,
    )


def _latest_out(view: DeviceView) -> dict[str, LatestOut]:
    # The store keeps every value as a float; the profile says which metrics are booleans.
    metrics = PROFILES[view.route.device.type].metrics
    latest: dict[str, LatestOut] = {}
    for name, sample in sorted(view.latest.items()):
        metric = metrics.get(name)
        if metric is not None and metric.kind is MetricKind.BOOL:
            latest[name] = LatestOut(value=bool(sample.value), ts=sample.ts)
        else:
            latest[name] = LatestOut(value=sample.value, ts=sample.ts)
    return latest


def _detail_out(view: DeviceView) -> DeviceDetailOut:
    route = view.route
    return DeviceDetailOut(
        **_device_out(view).model_dump(),
        location=LocationOut.model_validate(route.device.location),
        building=BuildingOut(
            id=route.building.id,
            name=route.building.name,
            grid_id=route.building.grid_id,
            households=route.building.households,
            care=route.building.care.value,
            location=LocationOut.model_validate(route.building.location),
        ),
        responsible=ResponsibleOut(
            id=route.assignee.id, name=route.assignee.name, role=route.assignee.role.value
        ),
        open_faults=[
            OpenFaultOut(
                code=episode.code,
                severity=episode.severity,
                since=episode.started_at,
                detail=episode.detail,
            )
            for episode in view.open_episodes
        ],
        latest=_latest_out(view),
    )


@router.get(
    "",
    summary="Devices with their status (ok, fault, offline) and when they were last seen",
    response_model=list[DeviceOut],
    responses={**REQUEST_ERRORS, **CSV_RESPONSES},
)
async def list_devices_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    timeseries: TimeSeriesDep,
    site: SiteDep,
    page: PageDep,
    type: DeviceTypeQuery = None,
    community_id: IdQuery = None,
    grid_id: IdQuery = None,
    building_id: IdQuery = None,
    status: DeviceStatus | None = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> list[DeviceOut] | Response:
    """A page of the site's devices ordered by id; filters combine with AND;
    ``X-Total-Count`` carries the number before paging."""
    where = DeviceFilter(
        device_type=type,
        community_id=community_id,
        grid_id=grid_id,
        building_id=building_id,
        status=status,
    )
    listing = await device_page(session, timeseries, site=site, where=where, page=page)
    devices = listing.answer(response, _device_out)
    if format is ResponseFormat.CSV:
        return csv_response(
            (device.model_dump() for device in devices),
            DEVICE_COLUMNS,
            filename="devices",
            headers={TOTAL_COUNT_HEADER: str(listing.total)},
        )
    return devices


@router.get(
    "/{device_id}",
    summary="One device with its building, open faults and latest reading",
    responses=LOOKUP_ERRORS,
)
async def get_device_route(
    device_id: str,
    _admin: AdminDep,
    session: SessionDep,
    timeseries: TimeSeriesDep,
    site: SiteDep,
) -> DeviceDetailOut:
    """The device, or 404 when the site has no device with that id."""
    view = await device_detail(session, timeseries, site=site, device_id=device_id)
    return _detail_out(view)


# Registered after the device routes, under the same prefix.
router.include_router(telemetry_router)
