"""The bundled example site (Xincheng Subdistrict) loads and is a realistic, routable site."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from governance.model import CareColour, MemberRole, Site
from sensors.contract import DEVICE_ID_PATTERN
from sensors.profiles import PROFILES, effective_params

GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "make_example_site.py"
READABLE_DEVICE_ID = re.compile(r"(ssc|tg|xy)-g\d{2}-b\d-(light-\d|pipe|shed)")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(BUNDLED_SITE)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example_site", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_file_is_what_the_generator_writes() -> None:
    assert BUNDLED_SITE.read_text(encoding="utf-8") == _generator().render_site()


def test_file_is_utf8_and_small() -> None:
    raw = BUNDLED_SITE.read_bytes()
    assert len(raw) < 1_000_000
    assert "阳光舜城" in raw.decode("utf-8")


def test_hierarchy_has_three_communities_and_at_least_35_grids(site: Site) -> None:
    assert site.street.id == "xincheng"
    assert site.street.timezone == "Asia/Shanghai"
    assert set(site.communities) == {"ssc", "tg", "xy"}
    names = " ".join(c.name for c in site.communities.values())
    assert all(zh in names for zh in ("阳光舜城", "特钢", "向阳"))
    assert len(site.grids) >= 35
    per_community = Counter(g.community_id for g in site.grids.values())
    assert set(per_community) == set(site.communities)


def test_every_grid_has_a_1_plus_2_plus_n_team(site: Site) -> None:
    for grid in site.grids.values():
        team = site.teams[grid.team_id]
        assert team.grid_id == grid.id
        roles = Counter(m.role for m in team.members)
        assert team.leader.role is MemberRole.LEADER
        assert roles[MemberRole.FULL_TIME] == 2
        assert roles[MemberRole.PART_TIME] >= 1


def test_every_member_answers_for_20_to_50_households(site: Site) -> None:
    for team in site.teams.values():
        for member in team.members:
            households = sum(site.buildings[b].households for b in member.buildings)
            assert 20 <= households <= 50, (member.id, households)


def test_grids_have_2_to_4_buildings_with_lights_and_a_pipe(site: Site) -> None:
    buildings_per_grid = Counter(b.grid_id for b in site.buildings.values())
    assert set(buildings_per_grid) == set(site.grids)
    assert all(2 <= n <= 4 for n in buildings_per_grid.values())
    types_per_building: dict[str, Counter[str]] = {b: Counter() for b in site.buildings}
    for device in site.devices.values():
        types_per_building[device.building_id][device.type] += 1
    for counts in types_per_building.values():
        assert counts["corridor_light"] >= 1
        assert counts["pipe"] == 1
    with_shed = sum(1 for c in types_per_building.values() if c["charging_shed"])
    assert with_shed >= len(site.buildings) // 3
    assert {b.care for b in site.buildings.values()} == set(CareColour)


def test_devices_cover_every_type_with_readable_ids(site: Site) -> None:
    assert {d.type for d in site.devices.values()} == set(PROFILES)
    assert 200 <= len(site.devices) <= 1_000
    for device_id in site.devices:
        assert DEVICE_ID_PATTERN.fullmatch(device_id)
        assert READABLE_DEVICE_ID.fullmatch(device_id), device_id


def test_every_device_routes_to_the_member_of_its_building(site: Site) -> None:
    for device_id, device in site.devices.items():
        route = site.route(device_id)
        assert route.grid.id == route.building.grid_id
        assert route.team.grid_id == route.grid.id
        assert route.community.id == route.grid.community_id
        assert device.building_id in route.assignee.buildings


def test_departments_handle_the_dangerous_faults(site: Site) -> None:
    def handlers(code: str) -> set[str]:
        return {d.id for d in site.departments_for(code)}

    assert handlers("smoke") == handlers("overheat") == {"fire"}
    assert handlers("burst") == handlers("leak") == {"water"}
    assert handlers("no_power") == handlers("breaker_trip") == {"power"}
    assert "police" in site.departments


def test_overrides_layer_type_then_device(site: Site) -> None:
    shed = next(d for d in site.devices.values() if d.type == "charging_shed")
    params = effective_params(PROFILES["charging_shed"], *site.overrides_for(shed.id))
    assert params["heartbeat_s"] == 30
    small = [d for d in site.devices.values() if "rated_power_w" in d.overrides.params]
    assert small
    for device in small:
        layered = effective_params(PROFILES[device.type], *site.overrides_for(device.id))
        assert layered["rated_power_w"] == device.overrides.params["rated_power_w"]
        assert layered["rated_power_w"] < PROFILES[device.type].params["rated_power_w"]


def test_docs_list_every_param_and_fault_code() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "site-file.md").read_text("utf-8")
    for profile in PROFILES.values():
        for name in (*profile.params, *profile.faults, profile.type):
            assert f"`{name}`" in docs, name
