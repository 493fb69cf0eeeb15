"""Summing building counts into grid, community and street tiles, and colouring them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from api.board.schemas import Colour, TileOut
from api.devices.schemas import DeviceStatus
from governance.model import Site


@dataclass(frozen=True, slots=True)
class Counts:
    """What the board counts for one building, or the sum over several."""

    open_orders: int = 0
    overdue: int = 0
    critical: int = 0
    devices: int = 0
    faulty: int = 0
    offline: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            open_orders=self.open_orders + other.open_orders,
            overdue=self.overdue + other.overdue,
            critical=self.critical + other.critical,
            devices=self.devices + other.devices,
            faulty=self.faulty + other.faulty,
            offline=self.offline + other.offline,
        )

    @property
    def colour(self) -> Colour:
        """Red for an overdue or critical open order, yellow for anything else amiss."""
        if self.overdue or self.critical:
            return Colour.RED
        if self.open_orders or self.faulty or self.offline:
            return Colour.YELLOW
        return Colour.GREEN


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of ``counts`` (zero for none)."""
    result = Counts()
    for item in counts:
        result += item
    return result


@dataclass(frozen=True, slots=True)
class StreetTally:
    """Counts per building, and the same summed per grid and per community."""

    buildings: Mapping[str, Counts]
    grids: Mapping[str, Counts] = field(default_factory=dict)
    communities: Mapping[str, Counts] = field(default_factory=dict)


def tally_street(
    site: Site, orders: Mapping[str, Counts], unwell: Mapping[str, DeviceStatus]
) -> StreetTally:
    """Per-building counts from the two reads, summed up the hierarchy."""
    devices: dict[str, Counts] = {}
    for device in site.devices.values():
        status = unwell.get(device.id, DeviceStatus.OK)
        mark = Counts(
            devices=1,
            faulty=int(status is DeviceStatus.FAULT),
            offline=int(status is DeviceStatus.OFFLINE),
        )
        devices[device.building_id] = devices.get(device.building_id, Counts()) + mark
    buildings = {
        building_id: orders.get(building_id, Counts()) + devices.get(building_id, Counts())
        for building_id in site.buildings
    }
    grids = {
        grid_id: total(c for b, c in buildings.items() if site.buildings[b].grid_id == grid_id)
        for grid_id in site.grids
    }
    communities = {
        community_id: total(
            c for g, c in grids.items() if site.grids[g].community_id == community_id
        )
        for community_id in site.communities
    }
    return StreetTally(buildings=buildings, grids=grids, communities=communities)


def tile(tile_id: str, name: str, counts: Counts) -> TileOut:
    """The response tile for one area."""
    return TileOut(
        id=tile_id,
        name=name,
        colour=counts.colour,
        open_orders=counts.open_orders,
        overdue=counts.overdue,
        critical=counts.critical,
        devices=counts.devices,
        faulty=counts.faulty,
        offline=counts.offline,
    )
