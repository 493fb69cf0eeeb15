"""Root-cause grouping: which held ``offline`` / ``no_power`` pages become which incident.

A power cut darkens a building, a dead feeder a community, a broker or network blip the whole
street: every device goes ``offline`` at once, and one order per device would bury the crews.
Like Alertmanager's ``group_wait``, the *page* of such an episode waits ``group_wait_s`` (the
episode itself, so the device's state and uptime, is recorded at once). When a held page is
due, the outage is judged one level at a time, widest first:

* **street** — at least ``street_min_communities`` communities are down and at least
  ``min_share`` of the street's devices: one street incident (the likely cause is on the
  service's side: broker, network or gateway, not the devices);
* **community** — at least ``min_share`` of the community's devices, in at least
  ``community_min_buildings`` of its buildings: one community incident;
* **group** (a building, or one circuit or edge gateway of it) of at least ``min_devices``
  devices, with ``min_devices`` and ``min_share`` of them down: one building incident;
* otherwise each due page becomes the device's own order.

"Down" counts the devices whose episode of the code is open and those whose held episode ended
inside the hold (the blip is part of the wave even though it is over), so a wave that is mostly
back at the decision still groups as the wave it was. Pages are only ever opened for episodes
still open: an outage that ended inside the hold pages nobody. This module is pure: the
database side is ``alerts.orders.held_pages``.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import timedelta

from core.settings import Settings
from governance.model import Site
from sensors.catalogue import OFFLINE
from storage.relational.models import OrderScope

#: Fault codes a shared root cause (a power cut, a dead edge gateway, a broker blip) raises on
#: many devices at once: their pages are held for grouping.
GROUPED_CODES = frozenset({OFFLINE, "no_power"})


@dataclass(frozen=True, slots=True)
class GroupingPolicy:
    """When held device pages become one building, community or street incident."""

    enabled: bool
    group_wait_s: float
    min_share: float
    min_devices: int
    community_min_buildings: int
    street_min_communities: int

    @classmethod
    def of(cls, settings: Settings, site: Site) -> GroupingPolicy:
        """The settings' defaults with the site file's ``street: grouping:`` overrides."""
        site_file = site.street.grouping
        return cls(
            enabled=site_file.enabled,
            group_wait_s=site_file.group_wait_s or settings.group_wait_s,
            min_share=site_file.min_share or settings.group_min_share,
            min_devices=site_file.min_devices or settings.group_min_devices,
            community_min_buildings=(
                site_file.community_min_buildings or settings.group_community_min_buildings
            ),
            street_min_communities=(
                site_file.street_min_communities or settings.group_street_min_communities
            ),
        )

    @property
    def hold(self) -> timedelta:
        """How long a grouped page waits for the decision."""
        return timedelta(seconds=self.group_wait_s)

    def holds(self, code: str) -> bool:
        """True when pages of ``code`` wait for the grouping decision."""
        return self.enabled and code in GROUPED_CODES

    def met(self, affected: int, size: int) -> bool:
        """True when ``affected`` devices out of ``size`` look like one root cause."""
        return affected >= self.min_devices and affected >= self.min_share * size


@dataclass(frozen=True, slots=True)
class IncidentPlan:
    """One incident the decision opens (or joins): its scope, where, and the pages it takes."""

    scope: OrderScope
    area_id: str  # the building, community or street id
    group_id: str  # "street:<id>", "community:<id>", or the group ("building:…", "circuit:…")
    devices: frozenset[str]  # held devices still down that the incident takes
    affected: int  # devices down in the area (held or not, including blips of this wave)
    size: int  # devices of the area
    spread: int  # communities (street), buildings (community) or 1 (group) with a device down


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision over one fault code's held pages."""

    incidents: tuple[IncidentPlan, ...]
    own_orders: frozenset[str]  # due held devices that get their own order


class Topology:
    """The site's devices by group, building, community and street, computed once."""

    __slots__ = ("building_of", "community_of", "group_of", "members", "street_id")

    def __init__(self, site: Site) -> None:
        self.street_id = site.street.id
        self.group_of: dict[str, str] = {}
        self.building_of: dict[str, str] = {}
        self.community_of: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}  # group or community id → its devices
        for device in site.devices.values():
            building = site.buildings[device.building_id]
            community_id = site.grids[building.grid_id].community_id
            self.group_of[device.id] = device.group_id
            self.building_of[device.id] = building.id
            self.community_of[device.id] = community_id
            self.members.setdefault(device.group_id, set()).add(device.id)
            self.members.setdefault(_community_area(community_id), set()).add(device.id)

    def community_devices(self, community_id: str) -> Set[str]:
        """Every device of the community."""
        return self.members.get(_community_area(community_id), set())


def plan(
    topology: Topology,
    policy: GroupingPolicy,
    *,
    down: Set[str],
    held: Set[str],
    due: Set[str],
) -> Plan:
    """Decide one code's held pages: ``down`` devices count as affected, ``held`` devices are
    still down with their page held (``due`` of them past the hold)."""
    due = due & held
    if not due:
        return Plan(incidents=(), own_orders=frozenset())
    street = _street_plan(topology, policy, down=down, held=held)
    if street is not None:
        return Plan(incidents=(street,), own_orders=frozenset())
    incidents: list[IncidentPlan] = []
    taken: set[str] = set()
    for community_id in sorted({topology.community_of[d] for d in due}):
        community = _community_plan(topology, policy, community_id, down=down, held=held)
        if community is not None:
            incidents.append(community)
            taken |= community.devices
    for group_id in sorted({topology.group_of[d] for d in due - taken}):
        members = topology.members[group_id]
        affected = len(members & down)
        if len(members) >= policy.min_devices and policy.met(affected, len(members)):
            devices = frozenset(members & held)
            building_id = topology.building_of[next(iter(members))]
            incidents.append(
                IncidentPlan(
                    OrderScope.BUILDING, building_id, group_id, devices, affected, len(members), 1
                )
            )
            taken |= devices
    return Plan(incidents=tuple(incidents), own_orders=frozenset(due - taken))


def _street_plan(
    topology: Topology, policy: GroupingPolicy, *, down: Set[str], held: Set[str]
) -> IncidentPlan | None:
    size = len(topology.community_of)
    communities_down = [
        community_id
        for community_id in sorted(set(topology.community_of.values()))
        if _community_down(topology, policy, community_id, down=down)
    ]
    affected = len(down & topology.community_of.keys())
    if len(communities_down) < policy.street_min_communities or not policy.met(affected, size):
        return None
    return IncidentPlan(
        OrderScope.STREET,
        topology.street_id,
        f"street:{topology.street_id}",
        frozenset(held),
        affected,
        size,
        len(communities_down),
    )


def _community_plan(
    topology: Topology,
    policy: GroupingPolicy,
    community_id: str,
    *,
    down: Set[str],
    held: Set[str],
) -> IncidentPlan | None:
    if not _community_down(topology, policy, community_id, down=down):
        return None
    members = topology.community_devices(community_id)
    affected = members & down
    return IncidentPlan(
        OrderScope.COMMUNITY,
        community_id,
        _community_area(community_id),
        frozenset(members & held),
        len(affected),
        len(members),
        len(_buildings(topology, affected)),
    )


def _community_down(
    topology: Topology, policy: GroupingPolicy, community_id: str, *, down: Set[str]
) -> bool:
    members = topology.community_devices(community_id)
    affected = members & down
    return len(affected) >= policy.min_share * len(members) and (
        len(_buildings(topology, affected)) >= policy.community_min_buildings
    )


def _buildings(topology: Topology, devices: Iterable[str]) -> set[str]:
    return {topology.building_of[d] for d in devices}


def _community_area(community_id: str) -> str:
    return f"community:{community_id}"


__all__ = ["GROUPED_CODES", "GroupingPolicy", "IncidentPlan", "Plan", "Topology", "plan"]
