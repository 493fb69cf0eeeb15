"""Reads behind the device routes: site data joined with open episodes and latest readings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    latest: Mapping[str, Sample]

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
    timeseries: TimeSeriesStore,
    *,
    site: Site,
    where: DeviceFilter,
    page: Page,
) -> Listing[DeviceView]:
    """One page of the matching devices ordered by id; latest readings of that page only."""
    where.check(site)
    open_by_device = await _open_episodes(session)
    matching: list[tuple[DeviceRoute, DeviceStatus]] = []
    for device_id in sorted(site.devices):
        route = site.route(device_id)
        if not where.admits_place(route):
            continue
        status = status_from_open_codes(e.code for e in open_by_device.get(device_id, ()))
        if where.status is None or status is where.status:
            matching.append((route, status))
    shown = matching[page.offset : page.offset + page.limit]
    latest = await timeseries.latest([route.device.id for route, _ in shown])
    rows = [
        DeviceView(
            route=route,
            status=status,
            open_episodes=open_by_device.get(route.device.id, ()),
            latest=latest.get(route.device.id, {}),
        )
        for route, status in shown
    ]
    return Listing(rows=rows, total=len(matching))


async def get_device(
    session: AsyncSession, timeseries: TimeSeriesStore, *, site: Site, device_id: str
) -> DeviceView:
    """One device with its open episodes and latest readings; 404 when the site lacks it."""
    if device_id not in site.devices:
        raise NotFoundError(kind="device", key=device_id)
    episodes = (await _open_episodes(session, device_id=device_id)).get(device_id, [])
    latest = await timeseries.latest([device_id])
    return DeviceView(
        route=site.route(device_id),
        status=status_from_open_codes(episode.code for episode in episodes),
        open_episodes=episodes,
        latest=latest.get(device_id, {}),
    )
