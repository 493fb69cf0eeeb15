"""Reads behind the device routes: site data joined with open episodes and latest readings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.devices.schemas import DeviceStatus
from api.errors import InvalidRequestError, NotFoundError
from api.listing import Listing, Page
from governance.model import DeviceRoute, Site
from sensors.catalogue import OFFLINE
from storage.relational.models import Episode
from storage.tsdb.port import Sample, TimeSeriesStore

#: Where a client finds the valid ids of each hierarchy filter.
_SITE_ROUTE = "GET /api/v1/site"


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device's route through the hierarchy with its status, open episodes and latest
    readings (``{metric: newest sample}``; empty on list pages that do not read them)."""

    route: DeviceRoute
    status: DeviceStatus
    open_episodes: Sequence[Episode]
    latest: Mapping[str, Sample] = field(default_factory=dict)

    @property
    def last_seen_at(self) -> datetime | None:
        """Time of the newest stored reading of any metric; None when nothing is stored."""
        return max((sample.ts for sample in self.latest.values()), default=None)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """The device list's filters; they combine with AND, None means "any"."""

    device_type: str | None = None
    community_id: str | None = None
    grid_id: str | None = None
    building_id: str | None = None
    status: DeviceStatus | None = None

    def check(self, site: Site) -> None:
        """422 naming the first id the site does not have, and where the valid ones are."""
        for kind, value, known in (
            ("community", self.community_id, site.communities),
            ("grid", self.grid_id, site.grids),
            ("building", self.building_id, site.buildings),
        ):
            if value is not None and value not in known:
                raise InvalidRequestError(
                    f"unknown {kind} {value!r}; {_SITE_ROUTE} lists the {kind}s of this site"
                )

    def admits_place(self, route: DeviceRoute) -> bool:
        """True when the device's type and place match (status is judged separately)."""
        return (
            (self.device_type is None or route.device.type == self.device_type)
            and (self.community_id is None or route.community.id == self.community_id)
            and (self.grid_id is None or route.grid.id == self.grid_id)
            and (self.building_id is None or route.building.id == self.building_id)
        )


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


async def list_devices(
    session: AsyncSession,
    *,
    site: Site,
    device_type: str | None = None,
    community_id: str | None = None,
    grid_id: str | None = None,
    building_id: str | None = None,
    status: DeviceStatus | None = None,
) -> list[DeviceView]:
    """Every matching device ordered by id, with its status and open episodes (relational
    store only: no latest readings)."""
    where = DeviceFilter(
        device_type=device_type,
        community_id=community_id,
        grid_id=grid_id,
        building_id=building_id,
        status=status,
    )
    where.check(site)
    return await _matching(session, site=site, where=where)


async def _matching(session: AsyncSession, *, site: Site, where: DeviceFilter) -> list[DeviceView]:
    open_by_device = await _open_episodes(session)
    views: list[DeviceView] = []
    for device_id in sorted(site.devices):
        route = site.route(device_id)
        if not where.admits_place(route):
            continue
        episodes = open_by_device.get(device_id, [])
        status = status_from_open_codes(episode.code for episode in episodes)
        if where.status is None or status is where.status:
            views.append(DeviceView(route=route, status=status, open_episodes=episodes))
    return views


async def device_page(
    session: AsyncSession,
    timeseries: TimeSeriesStore,
    *,
    site: Site,
    where: DeviceFilter,
    page: Page,
) -> Listing[DeviceView]:
    """One page of the matching devices ordered by id; latest readings of that page only."""
    where.check(site)
    matching = await _matching(session, site=site, where=where)
    shown = matching[page.offset : page.offset + page.limit]
    latest = await timeseries.latest([view.route.device.id for view in shown])
    rows = [replace(view, latest=latest.get(view.route.device.id, {})) for view in shown]
    return Listing(rows=rows, total=len(matching))


async def get_device(session: AsyncSession, *, site: Site, device_id: str) -> DeviceView:
    """One device with its open episodes; 404 when the site has no such device."""
    if device_id not in site.devices:
        raise NotFoundError(kind="device", key=device_id)
    episodes = (await _open_episodes(session, device_id=device_id)).get(device_id, [])
    return DeviceView(
        route=site.route(device_id),
        status=status_from_open_codes(episode.code for episode in episodes),
        open_episodes=episodes,
    )


async def device_detail(
    session: AsyncSession, timeseries: TimeSeriesStore, *, site: Site, device_id: str
) -> DeviceView:
    """One device with its open episodes and latest readings; 404 when the site lacks it."""
    view = await get_device(session, site=site, device_id=device_id)
    latest = await timeseries.latest([device_id])
    return replace(view, latest=latest.get(device_id, {}))
