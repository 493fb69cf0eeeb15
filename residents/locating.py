"""Where a report is: ``address_id`` (a building id), ``address_string`` or ``lat``/``long``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from governance.model import Building, Site
from residents.errors import InvalidReportError, LocationNotFoundError

#: Mean Earth radius (IUGG), for the haversine distance.
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Place:
    """What the resident said about the location (any may be missing)."""

    address_id: str | None = None
    address_string: str | None = None
    lat: float | None = None
    lon: float | None = None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def locate(site: Site, place: Place, *, max_distance_m: float) -> Building:
    """The building the report is about; raises when the location is missing or unknown.

    ``address_id`` wins over ``address_string``, which wins over coordinates: the more exact a
    resident was, the more we trust it.
    """
    if place.address_id is not None:
        building = site.buildings.get(place.address_id)
        if building is None:
            raise LocationNotFoundError(f"address_id {place.address_id!r} is not a building")
        return building
    if place.address_string is not None:
        return _by_address(site, place.address_string)
    if place.lat is not None and place.lon is not None:
        return _nearest(site, place.lat, place.lon, max_distance_m=max_distance_m)
    raise InvalidReportError(
        "a location is required: address_id (a building id), address_string, or lat and long"
    )


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _by_address(site: Site, address: str) -> Building:
    wanted = _normal(address)
    if not wanted:
        raise InvalidReportError("address_string is empty")
    names = {b.id: (_normal(b.name), _normal(b.location.text)) for b in site.buildings.values()}
    exact = [site.buildings[i] for i, texts in names.items() if wanted in texts or wanted == i]
    if len(exact) == 1:
        return exact[0]
    partial = [site.buildings[i] for i, texts in names.items() if any(wanted in t for t in texts)]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise LocationNotFoundError(
            f"address_string {address!r} matches no building; give a building name or address"
        )
    raise LocationNotFoundError(
        f"address_string {address!r} matches {len(partial)} buildings; add the building name"
    )


def _nearest(site: Site, lat: float, lon: float, *, max_distance_m: float) -> Building:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InvalidReportError("lat must be within -90..90 and long within -180..180")
    best: tuple[float, Building] | None = None
    for building in site.buildings.values():
        here = building.location
        if here.lat is None or here.lon is None:
            continue
        metres = distance_m(lat, lon, here.lat, here.lon)
        if best is None or metres < best[0]:
            best = (metres, building)
    if best is None or best[0] > max_distance_m:
        raise LocationNotFoundError(
            f"no building within {max_distance_m:.0f} m of {lat},{lon}; give address_string"
        )
    return best[1]
