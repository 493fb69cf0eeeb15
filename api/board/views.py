"""``GET /api/v1/board``: the street board, every area coloured by its open orders and devices."""

from __future__ import annotations

from fastapi import APIRouter

from api.board.projection import Projection
from api.board.queries import open_orders_by_building, unwell_devices
from api.board.schemas import BoardOut, BuildingMarkOut
from api.board.tally import StreetTally, tally_street, tile, total
from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.responses import AUTH_ERRORS
from governance.model import Site

router = APIRouter(prefix="/api/v1/board", tags=["board"])


def _buildings(site: Site, tally: StreetTally) -> list[BuildingMarkOut]:
    projection = Projection.fitting(site.buildings.values())
    marks: list[BuildingMarkOut] = []
    for building in sorted(site.buildings.values(), key=lambda b: b.id):
        counts = tally.buildings[building.id]
        point = projection.place(building) if projection else None
        marks.append(
            BuildingMarkOut(
                id=building.id,
                name=building.name,
                grid_id=building.grid_id,
                lat=building.location.lat,
                lon=building.location.lon,
                x=point.x if point else None,
                y=point.y if point else None,
                colour=counts.colour,
                open_orders=counts.open_orders,
                devices=counts.devices,
                faulty=counts.faulty,
                offline=counts.offline,
            )
        )
    return marks


@router.get(
    "",
    summary="The street board: tiles per community and grid, buildings on a map",
    responses=AUTH_ERRORS,
)
async def board_route(
    _admin: AdminDep, session: SessionDep, site: SiteDep, now: NowDep
) -> BoardOut:
    """Counts from two grouped reads (orders per building, open episodes), summed upwards."""
    tally = tally_street(
        site,
        await open_orders_by_building(session, now=now),
        await unwell_devices(session),
    )
    communities = sorted(site.communities.values(), key=lambda c: c.id)
    grids = sorted(site.grids.values(), key=lambda g: g.id)
    return BoardOut(
        generated_at=now,
        street=tile(site.street.id, site.street.name, total(tally.communities.values())),
        communities=[tile(c.id, c.name, tally.communities[c.id]) for c in communities],
        grids=[tile(g.id, g.name, tally.grids[g.id]) for g in grids],
        buildings=_buildings(site, tally),
    )
