"""Sites survive dump_site → parse_site unchanged; generated valid documents always load."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import BUNDLED_SITE
from governance.loader import dump_site, load_site, parse_site
from tests.governance.sitetext import SMALL_SITE, line_of, problems_of

CARE = st.sampled_from(["red", "yellow", "green"])
NAMES = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s != "")


@st.composite
def site_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid site document with a random shape and random names, households and overrides."""
    communities = [{"id": f"c{i}", "name": draw(NAMES)} for i in range(draw(st.integers(1, 3)))]
    grids, teams, buildings, devices = [], [], [], []
    for g in range(draw(st.integers(1, 4))):
        gid = f"g{g}"
        grids.append(
            {
                "id": gid,
                "name": draw(NAMES),
                "community": f"c{g % len(communities)}",
                "team": f"t{g}",
            }
        )
        bids = [f"{gid}-b{b}" for b in range(draw(st.integers(1, 3)))]
        for bid in bids:
            buildings.append(
                {
                    "id": bid,
                    "name": draw(NAMES),
                    "grid": gid,
                    "households": draw(st.integers(0, 60)),
                    "care": draw(CARE),
                }
            )
            devices.append({"id": f"{bid}-light", "type": "corridor_light", "building": bid})
            pipe: dict[str, Any] = {"id": f"{bid}-pipe", "type": "pipe", "building": bid}
            if draw(st.booleans()):
                pipe["params"] = {"freeze_c": draw(st.floats(-10, 10, allow_nan=False))}
                pipe["faults"] = {"leak": {"readings": draw(st.integers(1, 5))}}
            devices.append(pipe)
        answering = draw(st.integers(0, len(bids)))
        members = [
            {"id": f"{gid}-m{k}", "name": draw(NAMES), "role": "full_time", "buildings": [bid]}
            for k, bid in enumerate(bids[:answering])
        ]
        teams.append(
            {
                "id": f"t{g}",
                "name": draw(NAMES),
                "grid": gid,
                "leader": {"id": f"{gid}-lead", "name": draw(NAMES)},
                "members": members,
            }
        )
    return {
        "version": 1,
        "street": {
            "id": "s",
            "name": draw(NAMES),
            "timezone": draw(st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Berlin"])),
            "language": draw(st.sampled_from(["zh", "en"])),
        },
        "communities": communities,
        "grids": grids,
        "teams": teams,
        "buildings": buildings,
        "devices": devices,
    }


def test_example_site_round_trips() -> None:
    site = load_site(BUNDLED_SITE)
    assert parse_site(dump_site(site)) == site


def test_small_site_round_trips() -> None:
    site = parse_site(SMALL_SITE)
    again = parse_site(dump_site(site))
    assert again == site
    assert again.type_overrides["charging_shed"].faults["port_fault"].readings == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site_documents())
def test_generated_sites_load_route_and_round_trip(document: dict[str, Any]) -> None:
    site = parse_site(yaml.safe_dump(document, allow_unicode=True))
    assert len(site.devices) == len(document["devices"])
    for device_id in site.devices:
        route = site.route(device_id)
        assert route.team.grid_id == route.building.grid_id
        members = [m for m in route.team.members if route.building.id in m.buildings]
        assert route.assignee == (members[0] if members else route.team.leader)
    assert parse_site(dump_site(site)) == site


@settings(max_examples=25, deadline=None)
@given(site_documents(), st.data())
def test_a_building_pointed_at_a_missing_grid_is_reported_at_its_line(
    document: dict[str, Any], data: st.DataObject
) -> None:
    victim = data.draw(st.sampled_from(document["buildings"]))
    victim["grid"] = "nowhere"
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=None, width=10_000)
    problems = problems_of(text)
    assert any(
        p.line == line_of(text, "grid: nowhere")
        and f"building '{victim['id']}' refers to unknown grid 'nowhere'" in p.reason
        for p in problems
    )
