"""Where a report is: building id, address text (exact, then a unique partial match), nearest
building within the distance setting."""

from __future__ import annotations

import pytest

from governance.model import Site
from residents.errors import InvalidReportError, LocationNotFoundError
from residents.locating import Place, distance_m, locate

LIMIT_M = 150.0


def building_at(site: Site, place: Place) -> str:
    return locate(site, place, max_distance_m=LIMIT_M).id


def test_address_id_wins_over_text_and_coordinates(site: Site) -> None:
    place = Place(address_id="b-steel-1", address_string="Sunshine grid 2", lat=36.2, lon=116.77)
    assert building_at(site, place) == "b-steel-1"


def test_address_text_exact_then_unique_partial_match(site: Site) -> None:
    assert building_at(site, Place(address_string="  BUILDING of   Steel grid 1 ")) == "b-steel-1"
    assert building_at(site, Place(address_string="Sunshine grid 2, No. 1")) == "b-sun-2"
    assert building_at(site, Place(address_string="steel")) == "b-steel-1"
    with pytest.raises(LocationNotFoundError, match="matches 2 buildings"):
        locate(site, Place(address_string="sunshine"), max_distance_m=LIMIT_M)
    with pytest.raises(LocationNotFoundError, match="matches no building"):
        locate(site, Place(address_string="Xiangyang Road 9"), max_distance_m=LIMIT_M)


def test_coordinates_pick_the_nearest_building_within_the_limit(site: Site) -> None:
    assert building_at(site, Place(lat=36.2005, lon=116.7702)) == "b-sun-1"
    assert building_at(site, Place(lat=36.2096, lon=116.77)) == "b-sun-2"
    # About 330 m north of the last building: too far to guess.
    with pytest.raises(LocationNotFoundError, match="no building within 150 m"):
        locate(site, Place(lat=36.223, lon=116.77), max_distance_m=LIMIT_M)
    with pytest.raises(InvalidReportError, match="lat must be within"):
        locate(site, Place(lat=91.0, lon=116.77), max_distance_m=LIMIT_M)


def test_no_location_at_all_is_refused(site: Site) -> None:
    with pytest.raises(InvalidReportError, match="a location is required"):
        locate(site, Place(), max_distance_m=LIMIT_M)


def test_distance_of_one_thousandth_degree_of_latitude() -> None:
    assert distance_m(36.2, 116.77, 36.201, 116.77) == pytest.approx(111.2, abs=0.5)
