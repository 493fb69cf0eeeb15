"""Cross-reference checks of a site file: every id a section names must exist and agree.

A mixin of the loader's reader, which supplies ``report``, ``line_of`` and the ids of entries
that failed validation (``broken``), so a reference to a broken entry isn't reported twice.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence

from governance.schema import (
    SECTIONS,
    BuildingSpec,
    CommunitySpec,
    DepartmentSpec,
    DeviceSpec,
    GridSpec,
    OverrideSpec,
    PersonSpec,
    TeamSpec,
)
from sensors.catalogue import OFFLINE
from sensors.profiles import PROFILES, Profile

Loc = tuple[str | int, ...]

#: How many known names an "unknown X" message lists before saying "and N more".
MAX_LISTED = 10
#: Parameters that are durations or counts of heartbeats must be positive.
POSITIVE_PARAM_SUFFIXES = ("_s", "_heartbeats")
FAULT_CODES = frozenset().union(*(p.fault_codes for p in PROFILES.values()))


def quote_list(names: Iterable[str]) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:MAX_LISTED])
    if len(ordered) > MAX_LISTED:
        shown += f", and {len(ordered) - MAX_LISTED} more"
    return shown or "none"


def hint(name: str, known: Iterable[str]) -> str:
    """What the author may have meant: the known names when few, and any near miss."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    parts = []
    if len(names) <= MAX_LISTED or not close:
        parts.append(f"known: {quote_list(names)}")
    if close:
        parts.append(f"did you mean '{close[0]}'?")
    return "; ".join(parts)


class ReferenceChecks:
    """Checks over validated entries; problems go to ``report``."""

    broken: dict[str, set[str]]
    #: Sections that are not lists at all; every reference into them would be noise.
    unreadable: set[str]

    def report(self, loc: Loc, reason: str) -> None:
        """Record a problem at the node ``loc`` points to."""
        raise NotImplementedError

    def line_of(self, loc: Loc) -> int | None:
        """Line of the nearest enclosing node that has one."""
        raise NotImplementedError

    def check_ref(
        self, loc: Loc, label: str, section: str, ref: str, known: Collection[str]
    ) -> bool:
        """Report a reference to an entry that doesn't exist (unless that entry was invalid)."""
        if ref in known:
            return True
        if ref not in self.broken[section] and section not in self.unreadable:
            noun = SECTIONS[section][0]
            self.report(loc, f"{label} refers to unknown {noun} '{ref}' ({hint(ref, known)})")
        return False

    def check_hierarchy(
        self,
        communities: Sequence[tuple[int, CommunitySpec]],
        grids: Sequence[tuple[int, GridSpec]],
        teams: Sequence[tuple[int, TeamSpec]],
        buildings: Sequence[tuple[int, BuildingSpec]],
    ) -> None:
        community_ids = {c.id for _, c in communities}
        grid_by_id = {g.id: g for _, g in grids}
        team_by_id = {t.id: t for _, t in teams}
        building_by_id = {b.id: b for _, b in buildings}
        for index, grid in grids:
            label = f"grid '{grid.id}'"
            self.check_ref(
                ("grids", index, "community"), label, "communities", grid.community, community_ids
            )
            loc: Loc = ("grids", index, "team")
            if self.check_ref(loc, label, "teams", grid.team, team_by_id):
                served = team_by_id[grid.team].grid
                if served != grid.id:
                    self.report(
                        loc,
                        f"{label} names team '{grid.team}', but that team serves grid '{served}'",
                    )
        people: dict[str, int | None] = {}
        for index, team in teams:
            loc = ("teams", index, "grid")
            if self.check_ref(loc, f"team '{team.id}'", "grids", team.grid, grid_by_id):
                named = grid_by_id[team.grid].team
                # An unknown team named by the grid is reported at the grid already.
                if named != team.id and named in team_by_id:
                    self.report(
                        loc,
                        f"team '{team.id}' serves grid '{team.grid}', "
                        f"but that grid names team '{named}'",
                    )
            self.check_team_people(index, team, building_by_id, grid_by_id, people)
        for index, building in buildings:
            self.check_ref(
                ("buildings", index, "grid"),
                f"building '{building.id}'",
                "grids",
                building.grid,
                grid_by_id,
            )

    def check_team_people(
        self,
        index: int,
        team: TeamSpec,
        buildings: Mapping[str, BuildingSpec],
        grids: Collection[str],
        people: dict[str, int | None],
    ) -> None:
        """Person ids unique site-wide; each answers for existing buildings of the team's grid."""
        persons: list[tuple[Loc, PersonSpec]] = [(("teams", index, "leader"), team.leader)]
        persons += [(("teams", index, "members", j), m) for j, m in enumerate(team.members)]
        answered: dict[str, str] = {}
        for loc, person in persons:
            if person.id in people:
                first = people[person.id]
                self.report(
                    (*loc, "id"),
                    f"duplicate person id '{person.id}' (first defined on line {first})",
                )
            else:
                people[person.id] = self.line_of((*loc, "id"))
            label = f"member '{person.id}' of team '{team.id}'"
            for k, building_id in enumerate(person.buildings):
                where = (*loc, "buildings", k)
                if not self.check_ref(where, label, "buildings", building_id, buildings):
                    continue
                grid = buildings[building_id].grid
                if grid != team.grid and grid in grids and team.grid in grids:
                    self.report(
                        where,
                        f"{label} answers for building '{building_id}' of grid '{grid}', "
                        f"outside the team's grid '{team.grid}'",
                    )
                elif building_id in answered:
                    self.report(
                        where,
                        f"{label} answers for building '{building_id}', already answered for by "
                        f"'{answered[building_id]}' (one member per building keeps routing clear)",
                    )
                answered.setdefault(building_id, person.id)

    def check_devices(
        self, devices: Sequence[tuple[int, DeviceSpec]], building_ids: Collection[str]
    ) -> None:
        for index, device in devices:
            label = f"device '{device.id}'"
            profile = PROFILES.get(device.type)
            if profile is None:
                self.report(
                    ("devices", index, "type"),
                    f"{label} has unknown type '{device.type}' ({hint(device.type, PROFILES)})",
                )
            else:
                self.check_overrides(device, profile, ("devices", index), label)
            self.check_ref(
                ("devices", index, "building"), label, "buildings", device.building, building_ids
            )

    def check_overrides(self, spec: OverrideSpec, profile: Profile, loc: Loc, label: str) -> None:
        """Override names must exist in the profile; durations must be positive."""
        for name, value in spec.params.items():
            where: Loc = (*loc, "params", name)
            if name not in profile.params:
                self.report(
                    where,
                    f"{label}: unknown param '{name}' for type '{profile.type}' "
                    f"({hint(name, profile.params)})",
                )
            elif name.endswith(POSITIVE_PARAM_SUFFIXES) and value <= 0:
                self.report(where, f"{label}: param '{name}' must be greater than 0, got {value}")
        for code in spec.faults:
            where = (*loc, "faults", code)
            if code == OFFLINE:
                self.report(
                    where,
                    f"{label}: 'offline' is tuned with the params heartbeat_s and "
                    "offline_after_heartbeats, not under faults",
                )
            elif code not in profile.faults:
                self.report(
                    where,
                    f"{label}: unknown fault code '{code}' for type '{profile.type}' "
                    f"({hint(code, profile.faults)})",
                )

    def check_departments(self, departments: Sequence[tuple[int, DepartmentSpec]]) -> None:
        for index, department in departments:
            for k, code in enumerate(department.handles):
                if code not in FAULT_CODES:
                    self.report(
                        ("departments", index, "handles", k),
                        f"department '{department.id}' handles unknown fault code '{code}' "
                        f"({hint(code, FAULT_CODES)})",
                    )
