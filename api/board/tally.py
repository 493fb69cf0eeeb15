"""Summing building counts into grid, community and street tiles, and colouring them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

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


# Positions of the device counts in the summing lists (the order of Counts' fields).
_DEVICES, _FAULTY, _OFFLINE = 3, 4, 5


def _sum_into(sums: dict[str, list[int]], key: str, values: list[int]) -> None:
    into = sums[key]
    for index, value in enumerate(values):
        into[index] += value


def _as_counts(values: list[int]) -> Counts:
    return Counts(*values)


def tally_street(
    site: Site, orders: Mapping[str, Counts], unwell: Mapping[str, DeviceStatus]
) -> StreetTally:
    """Per-building counts from the two reads, summed up the hierarchy in one pass per level.

    Plain integer lists while summing: this runs on every board request, for every building.
    """
    zero = [0] * len(fields(Counts))
    buildings: dict[str, list[int]] = {building_id: list(zero) for building_id in site.buildings}
    for building_id, counts in orders.items():
        if building_id in buildings:  # an order of a building since removed from the site
            _sum_into(buildings, building_id, [counts.open_orders, counts.overdue, counts.critical])
    for device in site.devices.values():
        values = buildings[device.building_id]
        values[_DEVICES] += 1
        status = unwell.get(device.id)
        if status is DeviceStatus.FAULT:
            values[_FAULTY] += 1
        elif status is DeviceStatus.OFFLINE:
            values[_OFFLINE] += 1
    grids: dict[str, list[int]] = {grid_id: list(zero) for grid_id in site.grids}
    for building_id, values in buildings.items():
        _sum_into(grids, site.buildings[building_id].grid_id, values)
    communities: dict[str, list[int]] = {c: list(zero) for c in site.communities}
    for grid_id, values in grids.items():
        _sum_into(communities, site.grids[grid_id].community_id, values)
    return StreetTally(
        buildings={key: _as_counts(values) for key, values in buildings.items()},
        grids={key: _as_counts(values) for key, values in grids.items()},
        communities={key: _as_counts(values) for key, values in communities.items()},
    )


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
