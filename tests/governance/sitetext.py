"""A small valid site file for tests, and helpers to break it in one place."""

from __future__ import annotations

import pytest

from governance.loader import SiteError, SiteProblem, parse_site

SMALL_SITE = """\
version: 1
street: {id: st, name: Test Street, city: Testville}
types:
  charging_shed: {params: {heartbeat_s: 30}, faults: {port_fault: {readings: 2}}}
communities:
  - {id: c1, name: Community One}
grids:
  - {id: g1, name: Grid One, community: c1, team: t1}
  - {id: g2, name: Grid Two, community: c1, team: t2}
teams:
  - id: t1
    name: Team One
    grid: g1
    leader: {id: p-lead1, name: Leader One, phone: "110"}
    members:
      - {id: p-ft1, name: Full Timer, role: full_time, buildings: [b1]}
      - {id: p-pt1, name: Part Timer, role: part_time, buildings: [b3]}
  - id: t2
    name: Team Two
    grid: g2
    leader: {id: p-lead2, name: Leader Two}
    members:
      - {id: p-ft2, name: Second Full Timer, role: full_time, buildings: [b2]}
departments:
  - {id: fire, name: Fire Brigade, handles: [smoke, overheat], phone: "119"}
buildings:
  - {id: b1, name: Building One, grid: g1, households: 24, care: red}
  - {id: b2, name: Building Two, grid: g2, households: 30}
  - {id: b3, name: Building Three, grid: g1, households: 20, care: yellow}
devices:
  - {id: b1-light-1, type: corridor_light, building: b1, location: {text: 1F-2F}}
  - {id: b1-pipe, type: pipe, building: b1, params: {freeze_c: 3}}
  - {id: b1-shed, type: charging_shed, building: b1, params: {rated_power_w: 12000}}
  - {id: b2-pipe, type: pipe, building: b2}
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the one line of ``text`` containing ``needle``."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}, expected exactly one"
    return hits[0]


def broken(*edits: tuple[str, str]) -> str:
    """SMALL_SITE with each ``(old, new)`` replacement applied exactly once."""
    text = SMALL_SITE
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} must occur exactly once"
        text = text.replace(old, new)
    return text


def problems_of(text: str) -> tuple[SiteProblem, ...]:
    """The problems parse_site reports for ``text`` (it must fail)."""
    with pytest.raises(SiteError) as caught:
        parse_site(text, source="site.yaml")
    return caught.value.problems
