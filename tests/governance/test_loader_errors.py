"""Every kind of site-file mistake is reported with the right line and an actionable reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.loader import SiteError, load_site, parse_site
from tests.governance.sitetext import SMALL_SITE, broken, line_of, problems_of

# (edits to SMALL_SITE, text on the line the problem must point at, words the reason must contain)
CASES = {
    "building without a grid": (
        [("{id: b2, name: Building Two, grid: g2,", "{id: b2, name: Building Two,")],
        "id: b2, name: Building Two",
        "building 'b2' is missing 'grid' (every building belongs to exactly one grid)",
    ),
    "building in an unknown grid": (
        [("grid: g2, households: 30", "grid: g3, households: 30")],
        "id: b2, name: Building Two",
        "building 'b2' refers to unknown grid 'g3' (known: g1, g2)",
    ),
    "grid without a team": (
        [("community: c1, team: t2}", "community: c1}")],
        "id: g2, name: Grid Two",
        "grid 'g2' is missing 'team' (every grid is served by exactly one team)",
    ),
    "grid with an unknown team": (
        [("community: c1, team: t2}", "community: c1, team: t9}")],
        "id: g2, name: Grid Two",
        "grid 'g2' refers to unknown team 't9'",
    ),
    "unknown community": (
        [("{id: g2, name: Grid Two, community: c1", "{id: g2, name: Grid Two, community: c7")],
        "id: g2, name: Grid Two",
        "grid 'g2' refers to unknown community 'c7' (known: c1",
    ),
    "member answering for an unknown building": (
        [("buildings: [b3]", "buildings: [b4]")],
        "buildings: [b4]",
        "member 'p-pt1' of team 't1' refers to unknown building 'b4'",
    ),
    "member answering for a building of another grid": (
        [("buildings: [b3]", "buildings: [b2]")],
        "id: p-pt1",
        "member 'p-pt1' of team 't1' answers for building 'b2' of grid 'g2', outside the team's",
    ),
    "unknown device type": (
        [("{id: b1-light-1, type: corridor_light", "{id: b1-light-1, type: corridor_lamp")],
        "id: b1-light-1",
        "device 'b1-light-1' has unknown type 'corridor_lamp' "
        "(known: charging_shed, corridor_light, pipe; did you mean 'corridor_light'?)",
    ),
    "device in an unknown building": (
        [("{id: b2-pipe, type: pipe, building: b2}", "{id: b2-pipe, type: pipe, building: b9}")],
        "id: b2-pipe",
        "device 'b2-pipe' refers to unknown building 'b9'",
    ),
    "device id not usable in an MQTT topic": (
        [("{id: b2-pipe,", "{id: b2/pipe,")],
        "id: b2/pipe",
        "device 'b2/pipe': id 'b2/pipe' is not a valid id (1-64 letters, digits, '-' or '_'",
    ),
    "duplicate building id": (
        [("devices:\n", "  - {id: b1, name: Building Copy, grid: g1}\ndevices:\n")],
        "name: Building Copy",
        f"duplicate building id 'b1' (first defined on line {line_of(SMALL_SITE, 'id: b1, na')})",
    ),
    "duplicate device id": (
        [("{id: b2-pipe,", "{id: b1-pipe,")],
        "building: b2}",
        "duplicate device id 'b1-pipe'",
    ),
    "duplicate person id across teams": (
        [("{id: p-ft2,", "{id: p-ft1,")],
        "name: Second Full Timer",
        "duplicate person id 'p-ft1'",
    ),
    "a building answered for by two members": (
        [("buildings: [b3]", "buildings: [b1]")],
        "id: p-pt1",
        "answers for building 'b1', already answered for by 'p-ft1'",
    ),
    "unknown param in a device override": (
        [("params: {rated_power_w: 12000}", "params: {rated_power: 12000}")],
        "id: b1-shed",
        "device 'b1-shed': unknown param 'rated_power' for type 'charging_shed' "
        "(known: heartbeat_s, offline_after_heartbeats, overheat_c",
    ),
    "unknown fault code in a device override": (
        [
            (
                "{id: b2-pipe, type: pipe, building: b2}",
                "{id: b2-pipe, type: pipe, building: b2,\n    faults: {lekage: {readings: 3}}}",
            )
        ],
        "faults: {lekage",
        "device 'b2-pipe': unknown fault code 'lekage' for type 'pipe' "
        "(known: blockage, burst, freeze_risk, leak, low_pressure",
    ),
    "unknown param in a type override": (
        [("{params: {heartbeat_s: 30}", "{params: {heartbeat: 30}")],
        "charging_shed: {params",
        "type 'charging_shed': unknown param 'heartbeat' for type 'charging_shed'",
    ),
    "unknown fault code in a type override": (
        [("faults: {port_fault: {readings: 2}}", "faults: {port_failure: {readings: 2}}")],
        "charging_shed: {params",
        "unknown fault code 'port_failure' for type 'charging_shed'",
    ),
    "offline under faults": (
        [("faults: {port_fault: {readings: 2}}", "faults: {offline: {readings: 2}}")],
        "charging_shed: {params",
        "'offline' is tuned with the params heartbeat_s and offline_after_heartbeats",
    ),
    "unknown type in types": (
        [("types:\n", "types:\n  street_lamp: {params: {heartbeat_s: 30}}\n")],
        "street_lamp",
        "types: unknown device type 'street_lamp' (known: charging_shed, corridor_light, pipe",
    ),
    "non-positive heartbeat": (
        [("{params: {heartbeat_s: 30}", "{params: {heartbeat_s: 0}")],
        "charging_shed: {params",
        "param 'heartbeat_s' must be greater than 0, got 0",
    ),
    "department handling an unknown fault code": (
        [("handles: [smoke, overheat]", "handles: [smoke, fire]")],
        "id: fire",
        "department 'fire' handles unknown fault code 'fire'",
    ),
    "wrong-typed field": (
        [("households: 30}", 'households: "30"}')],
        "id: b2, name: Building Two",
        "building 'b2': households: Input should be a valid integer (got '30')",
    ),
    "number where text belongs": (
        [('phone: "110"', "phone: 110")],
        "id: p-lead1",
        "team 't1': leader.phone must be text, got 110; put the value in quotes",
    ),
    "unknown care colour": (
        [("care: yellow", "care: orange")],
        "id: b3",
        "building 'b3': care: Input should be 'red', 'yellow' or 'green' (got 'orange')",
    ),
    "misspelt field": (
        [("households: 30}", "housholds: 30}")],
        "id: b2, name: Building Two",
        "building 'b2' has unknown field 'housholds' (allowed: care, grid, households, id",
    ),
    "misspelt nested field": (
        [("location: {text: 1F-2F}", "location: {txt: 1F-2F}")],
        "id: b1-light-1",
        "device 'b1-light-1' has unknown field 'location.txt' (allowed: lat, lon, text)",
    ),
    "misspelt field of a fault override": (
        [("port_fault: {readings: 2}", "port_fault: {reading: 2}")],
        "charging_shed: {params",
        "type 'charging_shed' has unknown field 'faults.port_fault.reading' "
        "(allowed: enabled, readings, severity)",
    ),
    "unknown time zone": (
        [("city: Testville}", "city: Testville, timezone: Asia/Feicheng}")],
        "street:",
        "street: timezone: unknown time zone 'Asia/Feicheng'; use an IANA name",
    ),
    "language the notifications do not speak": (
        [("city: Testville}", "city: Testville, language: fr}")],
        "street:",
        "street: language:",
    ),
    "role that is not a member role": (
        [("role: part_time", "role: leader")],
        "id: p-pt1",
        "team 't1': members[1].role: Input should be 'full_time' or 'part_time'",
    ),
    "duplicate mapping key": (
        [("name: Team Two\n", "name: Team Two\n    name: Team 2\n")],
        "name: Team 2",
        f"duplicate key 'name' (first on line {line_of(SMALL_SITE, 'name: Team Two')})",
    ),
    "unsupported version": ([("version: 1", "version: 2")], "version: 2", "unsupported version 2"),
    "unknown section": (
        [("devices:\n", "device:\n")],
        "device:",
        "unknown section 'device' (known: buildings, communities, departments, devices",
    ),
    "section that is not a list": (
        [("communities:\n  - {id: c1, name: Community One}", "communities: {c1: Community One}")],
        "communities:",
        "'communities' must be a list of entries",
    ),
    "entry that is not a mapping": (
        [("  - {id: b2-pipe, type: pipe, building: b2}", "  - b2-pipe")],
        "  - b2-pipe",
        "device #4 must be a mapping of fields (key: value), got 'b2-pipe'",
    ),
}


@pytest.mark.parametrize(("edits", "needle", "reason"), CASES.values(), ids=CASES.keys())
def test_each_mistake_is_reported_once_at_its_line(
    edits: list[tuple[str, str]], needle: str, reason: str
) -> None:
    text = broken(*edits)
    problems = problems_of(text)
    expected_line = line_of(text, needle)
    assert [(p.line, reason in p.reason) for p in problems] == [(expected_line, True)], problems
    assert str(problems[0]).startswith(f"site.yaml:{expected_line}: ")


def test_a_team_serving_another_grid_is_reported_from_both_sides() -> None:
    text = broken(("    grid: g2\n", "    grid: g1\n"))
    found = {(p.line, p.reason) for p in problems_of(text)}
    assert (
        line_of(text, "id: g2, name: Grid Two"),
        "grid 'g2' names team 't2', but that team serves grid 'g1'",
    ) in found
    assert any("team 't2' serves grid 'g1', but that grid names team 't1'" in r for _, r in found)
    # Its member now answers for a building outside the team's grid.
    assert any("answers for building 'b2' of grid 'g2'" in r for _, r in found)


def test_yaml_syntax_error_has_its_line() -> None:
    text = broken(
        (
            "  - {id: b2, name: Building Two, grid: g2, households: 30}",
            "  - {id: b2, name: Building Two, grid: g2, households: 30",
        )
    )
    (problem,) = problems_of(text)
    assert problem.reason.startswith("YAML syntax error:")
    assert problem.line == line_of(text, "id: b3,")


def test_unsafe_yaml_tags_are_refused() -> None:
    (problem,) = problems_of(SMALL_SITE + "extra: !!python/object/apply:os.system [echo]\n")
    assert problem.line == line_of(SMALL_SITE, "- {id: b2-pipe") + 1
    assert "could not determine a constructor" in problem.reason


def test_every_problem_is_reported_in_file_order() -> None:
    text = broken(
        ("{id: g2, name: Grid Two, community: c1", "{id: g2, name: Grid Two, community: c7"),
        ("buildings: [b3]", "buildings: [b4]"),
        ("handles: [smoke, overheat]", "handles: [smoke, flood]"),
        ("grid: g2, households: 30", "grid: g3, households: 30"),
        ("{id: b1-light-1, type: corridor_light", "{id: b1-light-1, type: corridor_lamp"),
        ("params: {rated_power_w: 12000}", "params: {rated_power: 12000}"),
    )
    problems = problems_of(text)
    assert [p.line for p in problems] == [
        line_of(text, "community: c7"),
        line_of(text, "buildings: [b4]"),
        line_of(text, "flood"),
        line_of(text, "grid: g3"),
        line_of(text, "corridor_lamp"),
        line_of(text, "rated_power:"),
    ]
    message = str(SiteError(problems))
    assert message.startswith("6 problems in the site file:")
    assert all(str(p) in message for p in problems)


def test_a_broken_entry_is_not_reported_again_where_it_is_referenced() -> None:
    # b1 has a bad care colour: members, devices naming b1 must not add "unknown building".
    problems = problems_of(broken(("care: red", "care: crimson")))
    assert len(problems) == 1
    assert "care" in problems[0].reason


def test_empty_and_non_mapping_documents() -> None:
    (empty,) = problems_of("# nothing here\n")
    assert empty.line == 1
    assert "empty" in empty.reason
    (listed,) = problems_of("- version: 1\n")
    assert "top level must be a mapping" in listed.reason


def test_missing_version_and_street() -> None:
    problems = problems_of("communities: []\n")
    assert {p.reason for p in problems} == {
        "missing 'version: 1'",
        "missing 'street' (id and name of the sub-district)",
    }


def test_load_site_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mysite.yaml"
    path.write_text(broken(("version: 1", "version: 3")), encoding="utf-8")
    with pytest.raises(SiteError, match=rf"^{path}:1: unsupported version 3"):
        load_site(path)


def test_unreadable_files_are_site_errors(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read the site file"):
        load_site(tmp_path / "missing.yaml")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("street: {name: Stra\xdfe}".encode("latin-1"))
    with pytest.raises(SiteError, match="cannot read the site file"):
        load_site(latin1)


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, "
        bomb += f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    (problem,) = problems_of(bomb)
    assert "too many nodes" in problem.reason


def test_valid_small_site_parses() -> None:
    site = parse_site(SMALL_SITE)
    assert site.route("b1-shed").assignee.id == "p-ft1"


def test_recursive_aliases_are_refused() -> None:
    (problem,) = problems_of("version: 1\nstreet: &s {id: s, name: S, again: *s}\n")
    assert problem.line == 2
    assert "cycle" in problem.reason


def test_anchors_and_merge_keys_are_allowed() -> None:
    text = SMALL_SITE.replace(
        "  - {id: b2-pipe, type: pipe, building: b2}",
        "  - &pipe {id: b2-pipe, type: pipe, building: b2, params: {freeze_c: 4}}\n"
        "  - {<<: *pipe, id: b3-pipe, building: b3}",
    )
    site = parse_site(text)
    assert site.devices["b3-pipe"].overrides.params == {"freeze_c": 4}
    assert site.devices["b3-pipe"].building_id == "b3"
