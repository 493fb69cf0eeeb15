"""Routing to the responsible member and the priority order of severity and care colour."""

from __future__ import annotations

import itertools

import pytest

from alerts.errors import UnknownDeviceError
from alerts.orders.routing import CARE_RANK, priority_of, route_fault
from governance.model import CareColour, Site, Tier
from sensors.catalogue import Severity
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN


def test_routes_to_the_member_answering_for_the_building(site: Site) -> None:
    routing = route_fault(site, device_id=LIGHT_RED, severity=Severity.MAJOR)
    assert routing.assignee == "mem-1"
    assert (routing.team_id, routing.grid_id, routing.community_id) == ("t1", "g1", "c1")
    assert routing.building_id == "b-red"
    assert routing.tier is Tier.GRID


def test_routes_to_the_grid_leader_when_nobody_answers_for_the_building(site: Site) -> None:
    routing = route_fault(site, device_id=SHED_GREEN, severity=Severity.CRITICAL)
    assert routing.assignee == "lead-1"
    assert routing.team_id == "t1"


def test_routes_each_grid_to_its_own_team(site: Site) -> None:
    routing = route_fault(site, device_id=PIPE_YELLOW, severity=Severity.MINOR)
    assert (routing.team_id, routing.grid_id, routing.assignee) == ("t2", "g2", "mem-2")


def test_priority_uses_the_building_care_colour(site: Site) -> None:
    red = route_fault(site, device_id=LIGHT_RED, severity=Severity.MAJOR)
    green = route_fault(site, device_id=SHED_GREEN, severity=Severity.MAJOR)
    assert red.priority == priority_of(severity=Severity.MAJOR, care=CareColour.RED)
    assert red.priority > green.priority


def test_unknown_device_is_a_clear_error(site: Site) -> None:
    with pytest.raises(UnknownDeviceError, match="no-such-device"):
        route_fault(site, device_id="no-such-device", severity=Severity.MINOR)


def test_critical_green_outranks_major_red_outranks_major_green() -> None:
    critical_green = priority_of(severity=Severity.CRITICAL, care=CareColour.GREEN)
    major_red = priority_of(severity=Severity.MAJOR, care=CareColour.RED)
    major_green = priority_of(severity=Severity.MAJOR, care=CareColour.GREEN)
    assert critical_green > major_red > major_green


@pytest.mark.parametrize("severity", list(Severity))
def test_red_beats_yellow_beats_green_within_a_severity(severity: Severity) -> None:
    red, yellow, green = (
        priority_of(severity=severity, care=care)
        for care in (CareColour.RED, CareColour.YELLOW, CareColour.GREEN)
    )
    assert red > yellow > green


def test_priority_is_lexicographic_in_severity_then_care() -> None:
    pairs = list(itertools.product(Severity, CareColour))
    expected = sorted(pairs, key=lambda pair: (pair[0].rank, CARE_RANK[pair[1]]))
    by_priority = sorted(pairs, key=lambda pair: priority_of(severity=pair[0], care=pair[1]))
    assert by_priority == expected
    assert len({priority_of(severity=s, care=c) for s, c in pairs}) == len(pairs)
