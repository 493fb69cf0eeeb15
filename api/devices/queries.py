"""Reads behind the device routes: site data joined with open episodes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.devices.schemas import DeviceStatus
from api.errors import NotFoundError
from governance.model import DeviceRoute, Site
from sensors.catalogue import OFFLINE
from storage.relational.models import Episode


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device's route through the hierarchy with its status and open episodes."""

    route: DeviceRoute
    status: DeviceStatus
    open_episodes: Sequence[Episode]


def status_from_open_codes(codes: Iterable[str]) -> DeviceStatus:
    """``offline`` beats any fault; any open episode is a fault; none is ok."""
    codes = set(codes)
    if OFFLINE in codes:
        return DeviceStatus.OFFLINE
    return DeviceStatus.FAULT if codes else DeviceStatus.OK


async def _open_episodes(
    session: AsyncSession, *, device_id: str | None = None
) -> dict[str, list[Episode]]:
    query = select(Episode).where(Episode.ended_at.is_(None))
    if device_id is not None:
        query = query.where(Episode.device_id == device_id)
    query = query.order_by(Episode.started_at, Episode.id)
    by_device: dict[str, list[Episode]] = defaultdict(list)
    for episode in (await session.scalars(query)).all():
        by_device[episode.device_id].append(episode)
    return by_device


def _view(route: DeviceRoute, episodes: Sequence[Episode]) -> DeviceView:
    status = status_from_open_codes(episode.code for episode in episodes)
    return DeviceView(route=route, status=status, open_episodes=episodes)


async def list_devices(
    session: AsyncSession,
    *,
    site: Site,
    device_type: str | None = None,
    grid_id: str | None = None,
    status: DeviceStatus | None = None,
) -> list[DeviceView]:
    """Devices of the site ordered by id, filtered by type, grid and derived status."""
    open_by_device = await _open_episodes(session)
    views: list[DeviceView] = []
    for device_id in sorted(site.devices):
        route = site.route(device_id)
        if device_type is not None and route.device.type != device_type:
            continue
        if grid_id is not None and route.grid.id != grid_id:
            continue
        view = _view(route, open_by_device.get(device_id, ()))
        if status is not None and view.status is not status:
            continue
        views.append(view)
    return views


async def get_device(session: AsyncSession, *, site: Site, device_id: str) -> DeviceView:
    """One device with its open episodes; 404 when the site has no such device."""
    if device_id not in site.devices:
        raise NotFoundError(kind="device", key=device_id)
    open_by_device = await _open_episodes(session, device_id=device_id)
    return _view(site.route(device_id), open_by_device.get(device_id, ()))
