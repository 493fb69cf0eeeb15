"""A site with one big building (for root-cause grouping) built straight from the dataclasses."""

from __future__ import annotations

from governance.model import (
    Building,
    Community,
    Device,
    Grid,
    GroupingOverrides,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)

TOWER, ANNEX = "tower", "annex"
TOWER_SIZE = 30


def tower_light(i: int) -> str:
    """The id of the i-th corridor light of the tower (0-based)."""
    return f"tower-light-{i:02d}"


TOWER_LIGHTS = tuple(tower_light(i) for i in range(TOWER_SIZE))
ANNEX_PIPE = "annex-pipe"


def tower_site(
    *, grouping: GroupingOverrides | None = None, circuits: dict[str, str] | None = None
) -> Site:
    """A 30-light tower and a one-pipe annex, both in one grid served by one team."""
    leader = Member("leader", "Grid Leader", MemberRole.LEADER)
    member = Member("warden", "Tower Warden", MemberRole.FULL_TIME, buildings=(TOWER,))
    on_circuit = circuits or {}
    devices = {
        d: Device(d, "corridor_light", building_id=TOWER, circuit=on_circuit.get(d))
        for d in TOWER_LIGHTS
    }
    devices[ANNEX_PIPE] = Device(ANNEX_PIPE, "pipe", building_id=ANNEX)
    return Site(
        street=Street("street", "Street", grouping=grouping or GroupingOverrides()),
        communities={"community": Community("community", "Community")},
        grids={"grid": Grid("grid", "Grid", community_id="community", team_id="team")},
        buildings={
            TOWER: Building(TOWER, "Tower", grid_id="grid", households=120),
            ANNEX: Building(ANNEX, "Annex", grid_id="grid"),
        },
        devices=devices,
        teams={"team": Team("team", "Team", grid_id="grid", leader=leader, members=(member,))},
        departments={},
    )
