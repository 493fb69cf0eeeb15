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


STREET_COMMUNITIES = ("north", "south")
BUILDINGS_PER_COMMUNITY = 3
LIGHTS_PER_BUILDING = 4


def street_building(community_id: str, b: int) -> str:
    """The id of the b-th building (0-based) of a community of the street site."""
    return f"{community_id}-b{b}"


def street_lights(community_id: str | None = None) -> tuple[str, ...]:
    """The corridor lights of one community of the street site, or of the whole street."""
    communities = STREET_COMMUNITIES if community_id is None else (community_id,)
    return tuple(
        f"{street_building(c, b)}-light-{i}"
        for c in communities
        for b in range(BUILDINGS_PER_COMMUNITY)
        for i in range(LIGHTS_PER_BUILDING)
    )


def street_site(*, grouping: GroupingOverrides | None = None) -> Site:
    """Two communities of three 4-light buildings each, one grid and team per community."""
    communities, grids, buildings, devices, teams = {}, {}, {}, {}, {}
    for c in STREET_COMMUNITIES:
        grid_id, team_id = f"{c}-grid", f"{c}-team"
        communities[c] = Community(c, f"{c.title()} Community")
        grids[grid_id] = Grid(grid_id, f"{c.title()} Grid", community_id=c, team_id=team_id)
        leader = Member(f"{c}-leader", f"{c.title()} Leader", MemberRole.LEADER)
        teams[team_id] = Team(team_id, f"{c.title()} Team", grid_id=grid_id, leader=leader)
        for b in range(BUILDINGS_PER_COMMUNITY):
            building_id = street_building(c, b)
            buildings[building_id] = Building(building_id, building_id.title(), grid_id=grid_id)
    for device_id in street_lights():
        building_id = device_id.rsplit("-light-", 1)[0]
        devices[device_id] = Device(device_id, "corridor_light", building_id=building_id)
    return Site(
        street=Street("xin", "Xin Street", grouping=grouping or GroupingOverrides()),
        communities=communities,
        grids=grids,
        buildings=buildings,
        devices=devices,
        teams=teams,
        departments={},
    )
