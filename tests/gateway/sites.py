"""Small sites built straight from the governance dataclasses (no site file needed)."""

from __future__ import annotations

from collections.abc import Mapping

from governance.model import (
    Building,
    Community,
    Device,
    Grid,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)
from sensors.profiles import Overrides

LIGHT, PIPE, SHED = "light-1", "pipe-1", "shed-1"
DEVICE_TYPES = {LIGHT: "corridor_light", PIPE: "pipe", SHED: "charging_shed"}


def small_site(
    *,
    devices: Mapping[str, str] = DEVICE_TYPES,
    device_overrides: Mapping[str, Overrides] | None = None,
    type_overrides: Mapping[str, Overrides] | None = None,
) -> Site:
    """One street, community, grid, team and building holding ``devices`` (id → type)."""
    leader = Member(id="leader-1", name="Grid Leader", role=MemberRole.LEADER)
    overrides = device_overrides or {}
    return Site(
        street=Street(id="street-1", name="Test Street"),
        communities={"community-1": Community(id="community-1", name="Community")},
        grids={
            "grid-1": Grid(id="grid-1", name="Grid", community_id="community-1", team_id="team-1")
        },
        buildings={"building-1": Building(id="building-1", name="Building", grid_id="grid-1")},
        devices={
            device_id: Device(
                id=device_id,
                type=device_type,
                building_id="building-1",
                overrides=overrides.get(device_id, Overrides()),
            )
            for device_id, device_type in devices.items()
        },
        teams={"team-1": Team(id="team-1", name="Team", grid_id="grid-1", leader=leader)},
        departments={},
        type_overrides=dict(type_overrides or {}),
    )
