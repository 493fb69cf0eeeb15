"""The grouping plan (pure): which held pages become a building, community or street incident."""

from __future__ import annotations

from alerts.orders.grouping import GroupingPolicy, Plan, Topology, plan
from core.settings import Settings
from governance.model import GroupingOverrides
from sensors.catalogue import OFFLINE
from storage.relational.models import OrderScope
from tests.detection.sites import (
    ANNEX_PIPE,
    TOWER,
    TOWER_LIGHTS,
    street_building,
    street_lights,
    street_site,
    tower_site,
)

POLICY = GroupingPolicy(
    enabled=True,
    group_wait_s=60.0,
    min_share=0.6,
    min_devices=4,
    community_min_buildings=3,
    street_min_communities=2,
)
TOWER_TOPOLOGY = Topology(tower_site())
STREET_TOPOLOGY = Topology(street_site())


def decide(
    topology: Topology, *, down: set[str], held: set[str] | None = None, due: set[str] | None = None
) -> Plan:
    """Plan with every down device held and due unless told otherwise."""
    held = down if held is None else held
    return plan(topology, POLICY, down=down, held=held, due=held if due is None else due)


def scopes(decided: Plan) -> list[tuple[OrderScope, str, int]]:
    return [(i.scope, i.area_id, len(i.devices)) for i in decided.incidents]


def test_a_dark_tower_is_one_building_incident_taking_every_held_page() -> None:
    decided = decide(TOWER_TOPOLOGY, down=set(TOWER_LIGHTS))
    assert scopes(decided) == [(OrderScope.BUILDING, TOWER, len(TOWER_LIGHTS))]
    assert decided.own_orders == frozenset()
    (incident,) = decided.incidents
    assert (incident.affected, incident.size, incident.group_id) == (30, 30, f"building:{TOWER}")


def test_one_dark_light_is_its_own_order() -> None:
    decided = decide(TOWER_TOPOLOGY, down={TOWER_LIGHTS[0]})
    assert decided.incidents == ()
    assert decided.own_orders == {TOWER_LIGHTS[0]}


def test_below_the_share_only_due_pages_become_own_orders_the_rest_stay_held() -> None:
    down = set(TOWER_LIGHTS[:10])  # 10 of 30 is below 60 %
    decided = decide(TOWER_TOPOLOGY, down=down, due={TOWER_LIGHTS[0]})
    assert decided.incidents == ()
    assert decided.own_orders == {TOWER_LIGHTS[0]}


def test_devices_back_inside_the_hold_still_count_for_the_wave_but_get_no_page() -> None:
    still_down = set(TOWER_LIGHTS[:3])  # 27 blipped and came back; 3 are late
    decided = decide(TOWER_TOPOLOGY, down=set(TOWER_LIGHTS), held=still_down)
    assert scopes(decided) == [(OrderScope.BUILDING, TOWER, 3)]
    assert decided.own_orders == frozenset()


def test_nothing_is_decided_before_a_page_is_due() -> None:
    assert decide(TOWER_TOPOLOGY, down=set(TOWER_LIGHTS), due=set()) == Plan((), frozenset())


def test_a_small_group_is_never_a_building_incident() -> None:
    decided = decide(TOWER_TOPOLOGY, down={ANNEX_PIPE})
    assert decided.incidents == () and decided.own_orders == {ANNEX_PIPE}


def test_a_street_wide_outage_is_one_street_incident() -> None:
    everything = set(street_lights())
    decided = decide(STREET_TOPOLOGY, down=everything)
    assert scopes(decided) == [(OrderScope.STREET, "xin", len(everything))]
    (incident,) = decided.incidents
    assert (incident.spread, incident.group_id) == (2, "street:xin")
    assert decided.own_orders == frozenset()


def test_one_community_down_is_one_community_incident_not_three_building_ones() -> None:
    north = set(street_lights("north"))
    decided = decide(STREET_TOPOLOGY, down=north)
    assert scopes(decided) == [(OrderScope.COMMUNITY, "north", len(north))]
    assert decided.incidents[0].spread == 3


def test_two_buildings_of_a_community_are_two_building_incidents() -> None:
    down = {
        d
        for d in street_lights("north")
        if d.startswith((street_building("north", 0), street_building("north", 1)))
    }
    decided = decide(STREET_TOPOLOGY, down=down)
    assert scopes(decided) == [
        (OrderScope.BUILDING, street_building("north", 0), 4),
        (OrderScope.BUILDING, street_building("north", 1), 4),
    ]


def test_the_site_file_overrides_the_settings() -> None:
    site = tower_site(
        grouping=GroupingOverrides(
            group_wait_s=5.0, min_devices=10, community_min_buildings=4, street_min_communities=3
        )
    )
    policy = GroupingPolicy.of(Settings(group_min_share=0.5), site)
    assert policy == GroupingPolicy(
        enabled=True,
        group_wait_s=5.0,
        min_share=0.5,
        min_devices=10,
        community_min_buildings=4,
        street_min_communities=3,
    )


def test_disabled_grouping_holds_no_page() -> None:
    off = GroupingPolicy.of(Settings(), tower_site(grouping=GroupingOverrides(enabled=False)))
    assert not off.holds(OFFLINE)
    assert POLICY.holds(OFFLINE) and POLICY.holds("no_power") and not POLICY.holds("smoke")
