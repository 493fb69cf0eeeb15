"""Impact weighting: how many households each facility serves, and household-hours lost.

A corridor light serves its stairwell (its building's households shared among the building's
corridor lights); a pipe and a charging shed serve their building's households; any other type
serves its building too, the honest default when the site says nothing finer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from governance.model import Site
from reports.uptime import DeviceFigures

#: The type whose households are shared among the building's devices of that type.
SHARED_BY_STAIRWELL = "corridor_light"
SECONDS_PER_HOUR = 3600.0


def household_weights(site: Site) -> dict[str, float]:
    """Households each device serves (a fraction for corridor lights)."""
    lights: Counter[str] = Counter(
        d.building_id for d in site.devices.values() if d.type == SHARED_BY_STAIRWELL
    )
    weights: dict[str, float] = {}
    for device in site.devices.values():
        households = float(site.buildings[device.building_id].households)
        if device.type == SHARED_BY_STAIRWELL:
            households /= lights[device.building_id]
        weights[device.id] = households
    return weights


@dataclass(slots=True)
class HouseholdTotals:
    """Household-weighted sums over a group of devices."""

    households: int = 0
    weighted_down_s: float = 0.0
    weighted_monitored_s: float = 0.0

    @property
    def household_hours_lost(self) -> float:
        """Σ down hours x households served."""
        return self.weighted_down_s / SECONDS_PER_HOUR

    @property
    def availability_weighted(self) -> float | None:
        """1 - household-weighted down / household-weighted monitored; None without weight."""
        if self.weighted_monitored_s <= 0:
            return None
        return 1.0 - self.weighted_down_s / self.weighted_monitored_s


def household_totals(
    site: Site,
    building_ids: Iterable[str],
    device_ids: Iterable[str],
    figures: Mapping[str, DeviceFigures],
    weights: Mapping[str, float],
) -> HouseholdTotals:
    """The weighted totals of some devices, and the households of the buildings given."""
    totals = HouseholdTotals()
    totals.households = sum(site.buildings[b].households for b in building_ids)
    for device_id in device_ids:
        device = figures.get(device_id)
        if device is None:
            continue
        weight = weights[device_id]
        totals.weighted_down_s += device.down_s * weight
        totals.weighted_monitored_s += device.monitored_s * weight
    return totals
