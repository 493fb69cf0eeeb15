"""What a report is about: a scope of the site hierarchy and the devices inside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from governance.model import Building, Community, Device, Grid, Site
from reports.errors import UnknownTargetError


class Scope(StrEnum):
    """The levels uptime rolls up to; ``type`` is a facility type across the street."""

    DEVICE = "device"
    BUILDING = "building"
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    TYPE = "type"


@dataclass(frozen=True, slots=True)
class Target:
    """One resolved scope: its id (None for the street), its name and its devices."""

    scope: Scope
    id: str | None
    name: str
    devices: Sequence[Device]

    @property
    def is_street(self) -> bool:
        """Every device of the site: reads need no device filter."""
        return self.scope is Scope.STREET


def _in_scope(site: Site, device: Device, scope: Scope, target_id: str) -> bool:
    if scope is Scope.TYPE:
        return device.type == target_id
    building = site.buildings[device.building_id]
    if scope is Scope.BUILDING:
        return building.id == target_id
    grid = site.grids[building.grid_id]
    if scope is Scope.GRID:
        return grid.id == target_id
    return grid.community_id == target_id


def _name(site: Site, scope: Scope, target_id: str) -> str:
    table: dict[Scope, Mapping[str, Device | Building | Grid | Community]] = {
        Scope.DEVICE: site.devices,
        Scope.BUILDING: site.buildings,
        Scope.GRID: site.grids,
        Scope.COMMUNITY: site.communities,
    }
    if scope is Scope.TYPE:
        if not any(device.type == target_id for device in site.devices.values()):
            raise UnknownTargetError(f"the site has no device of type {target_id!r}")
        return target_id
    known = table[scope]
    if target_id not in known:
        raise UnknownTargetError(f"the site has no {scope.value} {target_id!r}")
    entry = known[target_id]
    # Devices may have an empty display name; their id then is the name.
    return entry.name or target_id


def resolve(site: Site, scope: Scope, target_id: str | None) -> Target:
    """The scope's devices and name; UnknownTargetError when the id is missing or unknown."""
    if scope is Scope.STREET:
        return Target(scope, None, site.street.name, tuple(site.devices.values()))
    if target_id is None:
        raise UnknownTargetError(f"scope {scope.value!r} needs an id")
    name = _name(site, scope, target_id)
    if scope is Scope.DEVICE:
        return Target(scope, target_id, name, (site.devices[target_id],))
    devices = tuple(d for d in site.devices.values() if _in_scope(site, d, scope, target_id))
    return Target(scope, target_id, name, devices)
