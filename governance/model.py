"""Immutable, indexed view of a loaded site file; shared by gateway, alerts and api."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sensors.profiles import Overrides


class CareColour(StrEnum):
    """Care level of a building's households (red: e.g. elderly living alone)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Tier(StrEnum):
    """Administrative level an order sits at: small things stay in the grid."""

    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


class MemberRole(StrEnum):
    """Role inside a "1+2+N" grid team."""

    LEADER = "leader"
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach a person or department."""

    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    """A person in a grid team, answering for some buildings."""

    id: str
    name: str
    role: MemberRole
    buildings: tuple[str, ...] = ()
    contact: Contact = Contact()
    publish_contact: bool = False  # phone/e-mail on the public notice board only if True


@dataclass(frozen=True, slots=True)
class Team:
    """The team serving one grid: its leader and members."""

    id: str
    name: str
    grid_id: str
    leader: Member
    members: tuple[Member, ...] = ()

    def responsible_for(self, building_id: str) -> Member:
        """The member who answers for the building, else the grid leader."""
        for member in self.members:
            if building_id in member.buildings:
                return member
        return self.leader


@dataclass(frozen=True, slots=True)
class Department:
    """A functional department (fire, police, water utility) handling some fault codes."""

    id: str
    name: str
    handles: frozenset[str] = frozenset()
    contact: Contact = Contact()


@dataclass(frozen=True, slots=True)
class Location:
    """Where something is: coordinates (WGS84) and/or a free-text place."""

    lat: float | None = None
    lon: float | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Device:
    """A sensor-equipped facility in a building."""

    id: str
    type: str
    building_id: str
    name: str = ""
    location: Location = Location()
    overrides: Overrides = field(default_factory=Overrides)
    # Root-cause grouping: devices behind one circuit or edge gateway fail together. Ids are
    # local to the building; without either, the building itself is the group.
    circuit: str | None = None
    edge: str | None = None
    # When the device joined the site (aware UTC); uptime counts it from then. None: always there.
    installed_at: datetime | None = None

    @property
    def group_id(self) -> str:
        """The root-cause group of this device: its circuit, else its edge, else its building."""
        if self.circuit is not None:
            return f"circuit:{self.building_id}/{self.circuit}"
        if self.edge is not None:
            return f"edge:{self.building_id}/{self.edge}"
        return f"building:{self.building_id}"


@dataclass(frozen=True, slots=True)
class Building:
    """A building in a grid, with its households and care colour."""

    id: str
    name: str
    grid_id: str
    households: int = 0
    care: CareColour = CareColour.GREEN
    location: Location = Location()


@dataclass(frozen=True, slots=True)
class Grid:
    """The smallest governance unit, served by one team."""

    id: str
    name: str
    community_id: str
    team_id: str
    service_phone: str = ""  # the number residents call, shown on the notice board


@dataclass(frozen=True, slots=True)
class Community:
    """A residential community, made of grids."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class GroupingOverrides:
    """Site-file overrides of the root-cause grouping settings (None: the setting applies)."""

    enabled: bool = True
    group_wait_s: float | None = None
    min_share: float | None = None
    min_devices: int | None = None
    community_min_buildings: int | None = None
    street_min_communities: int | None = None


@dataclass(frozen=True, slots=True)
class Street:
    """The sub-district at the top of the hierarchy."""

    id: str
    name: str
    city: str = ""
    timezone: str = "UTC"  # IANA name; local time drives day/night behaviour and reports
    language: str = "zh"  # default language of notifications: "zh" (Simplified Chinese) or "en"
    grouping: GroupingOverrides = GroupingOverrides()


@dataclass(frozen=True, slots=True)
class DeviceRoute:
    """Everything needed to route a fault of one device, resolved once."""

    device: Device
    building: Building
    grid: Grid
    community: Community
    team: Team
    assignee: Member


@dataclass(frozen=True)
class Site:
    """A validated site: every reference resolves (the loader guarantees it)."""

    street: Street
    communities: Mapping[str, Community]
    grids: Mapping[str, Grid]
    buildings: Mapping[str, Building]
    devices: Mapping[str, Device]
    teams: Mapping[str, Team]
    departments: Mapping[str, Department]
    type_overrides: Mapping[str, Overrides] = field(default_factory=dict)

    def route(self, device_id: str) -> DeviceRoute:
        """Device → building → grid → community → team → responsible member. KeyError if unknown."""
        device = self.devices[device_id]
        building = self.buildings[device.building_id]
        grid = self.grids[building.grid_id]
        team = self.teams[grid.team_id]
        return DeviceRoute(
            device=device,
            building=building,
            grid=grid,
            community=self.communities[grid.community_id],
            team=team,
            assignee=team.responsible_for(building.id),
        )

    def departments_for(self, code: str) -> tuple[Department, ...]:
        """Departments that handle a fault code (e.g. fire for smoke)."""
        return tuple(d for d in self.departments.values() if code in d.handles)

    def overrides_for(self, device_id: str) -> tuple[Overrides, ...]:
        """Override layers for a device, type first then device (later wins)."""
        device = self.devices[device_id]
        layers: list[Overrides] = []
        type_layer = self.type_overrides.get(device.type)
        if type_layer is not None:
            layers.append(type_layer)
        layers.append(device.overrides)
        return tuple(layers)
