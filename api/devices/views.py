"""``GET /api/v1/devices`` and ``GET /api/v1/devices/{device_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from api.deps import AdminDep, SessionDep, SiteDep
from api.devices.queries import DeviceView, get_device, list_devices
from api.devices.schemas import (
    BuildingOut,
    DeviceDetailOut,
    DeviceOut,
    DeviceStatus,
    OpenFaultOut,
    ResponsibleOut,
)
from api.errors import InvalidRequestError
from api.responses import LOOKUP_ERRORS, REQUEST_ERRORS
from api.schemas import IdQuery, LocationOut
from sensors.profiles import DEVICE_TYPES

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
    )


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
    )


@router.get(
    "",
    summary="Devices with their status (ok, fault, offline)",
    responses=REQUEST_ERRORS,
)
async def list_devices_route(
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    type: DeviceTypeQuery = None,
    grid_id: IdQuery = None,
    status: DeviceStatus | None = None,
) -> list[DeviceOut]:
    """Every device of the site ordered by id; filters combine with AND."""
    if grid_id is not None and grid_id not in site.grids:
        raise InvalidRequestError(
            f"unknown grid {grid_id!r}; GET /api/v1/site lists the grids of this site"
        )
    views = await list_devices(session, site=site, device_type=type, grid_id=grid_id, status=status)
    return [_device_out(view) for view in views]


@router.get(
    "/{device_id}",
    summary="One device with its building and open faults",
    responses=LOOKUP_ERRORS,
)
async def get_device_route(
    device_id: str, _admin: AdminDep, session: SessionDep, site: SiteDep
) -> DeviceDetailOut:
    """The device, or 404 when the site has no device with that id."""
    return _detail_out(await get_device(session, site=site, device_id=device_id))
