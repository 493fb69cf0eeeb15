"""Pydantic models of one entry of each site-file section (the shape; references are checked later).

Strict on purpose: a site file is hand-edited, so ``households: "12"``, ``phone: 13800000000``
(an int) or a misspelt key are mistakes to report, not values to coerce. See docs/site-file.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    field_validator,
)

from governance.model import (
    Building,
    CareColour,
    Community,
    Contact,
    Department,
    Device,
    Grid,
    GroupingOverrides,
    Location,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)
from sensors.catalogue import Severity
from sensors.contract import DEVICE_ID_PATTERN
from sensors.profiles import FaultOverride, Overrides

_T = TypeVar("_T")

#: Every id may end up in an MQTT topic or a URL, so all kinds follow the device-id rule.
ID_PATTERN = f"^{DEVICE_ID_PATTERN.pattern}$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
CareName = Literal["red", "yellow", "green"]
SeverityName = Literal["minor", "major", "critical"]
RoleName = Literal["full_time", "part_time"]


class Spec(BaseModel):
    """Base of every entry: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class GroupingSpec(Spec):
    """``street: grouping:`` — root-cause grouping parameters for this site (docs/detection.md)."""

    enabled: bool = True
    group_wait_s: FiniteFloat | None = Field(default=None, gt=0)
    min_share: FiniteFloat | None = Field(default=None, gt=0, le=1)
    min_devices: int | None = Field(default=None, ge=2)
    community_min_buildings: int | None = Field(default=None, ge=2)
    street_min_communities: int | None = Field(default=None, ge=2)


class StreetSpec(Spec):
    """``street:`` — the sub-district at the top."""

    id: Id
    name: Name
    city: str = ""
    timezone: str = "UTC"
    language: Literal["zh", "en"] = "zh"  # notifications' default; endpoints may choose another
    grouping: GroupingSpec = GroupingSpec()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from exc
        return value


class LocationSpec(Spec):
    """``location:`` — WGS84 coordinates and/or a free-text place."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    text: str = ""


class CommunitySpec(Spec):
    """One entry of ``communities:``."""

    id: Id
    name: Name


class GridSpec(Spec):
    """One entry of ``grids:``."""

    id: Id
    name: Name
    community: Id
    team: Id
    # The number residents call (shown on the grid's public notice board).
    service_phone: str = ""


class PersonSpec(Spec):
    """A team leader: a person with contact details and the buildings they answer for."""

    id: Id
    name: Name
    phone: str = ""
    email: str = ""
    buildings: list[Id] = Field(default_factory=list)
    # Whether phone and e-mail appear on the public notice board (never unless chosen).
    publish_contact: bool = False


class MemberSpec(PersonSpec):
    """One entry of a team's ``members:``."""

    role: RoleName


class TeamSpec(Spec):
    """One entry of ``teams:`` — the "1+2+N" team of one grid."""

    id: Id
    name: Name
    grid: Id
    leader: PersonSpec
    members: list[MemberSpec] = Field(default_factory=list)


class DepartmentSpec(Spec):
    """One entry of ``departments:``."""

    id: Id
    name: Name
    handles: list[str] = Field(default_factory=list)
    phone: str = ""
    email: str = ""


class BuildingSpec(Spec):
    """One entry of ``buildings:``."""

    id: Id
    name: Name
    grid: Id
    households: int = Field(default=0, ge=0)
    care: CareName = "green"
    location: LocationSpec = LocationSpec()


class FaultOverrideSpec(Spec):
    """A change to one catalogue fault: debounce readings, severity, or switching it off."""

    readings: int | None = Field(default=None, ge=1)
    severity: SeverityName | None = None
    enabled: bool = True


class OverrideSpec(Spec):
    """``params:`` and ``faults:`` layered over a profile (one entry of ``types:``)."""

    params: dict[str, FiniteFloat] = Field(default_factory=dict)
    faults: dict[str, FaultOverrideSpec] = Field(default_factory=dict)


class DeviceSpec(OverrideSpec):
    """One entry of ``devices:``, with its own override layer."""

    id: Id
    type: str
    building: Id
    name: str = ""
    location: LocationSpec = LocationSpec()
    circuit: Id | None = None  # root-cause grouping: devices on one circuit of the building
    edge: Id | None = None  # or behind one edge gateway of the building
    # RFC 3339 with an offset; YAML gives a datetime, a quoted string is parsed (strict=False).
    installed_at: Annotated[AwareDatetime, Field(strict=False)] | None = None


#: Top-level list sections, in the order they are checked, with the singular noun for messages.
SECTIONS: dict[str, tuple[str, type[Spec]]] = {
    "communities": ("community", CommunitySpec),
    "grids": ("grid", GridSpec),
    "teams": ("team", TeamSpec),
    "departments": ("department", DepartmentSpec),
    "buildings": ("building", BuildingSpec),
    "devices": ("device", DeviceSpec),
}
TOP_LEVEL_KEYS = ("version", "street", "types", *SECTIONS)
SUPPORTED_VERSION = 1


# Conversions between the file's shape and the immutable model -------------------------------


@dataclass(frozen=True, slots=True)
class SiteSpecs:
    """Every entry of a site file that passed validation, references already checked."""

    street: StreetSpec
    types: Mapping[str, OverrideSpec]
    communities: Sequence[CommunitySpec]
    grids: Sequence[GridSpec]
    teams: Sequence[TeamSpec]
    departments: Sequence[DepartmentSpec]
    buildings: Sequence[BuildingSpec]
    devices: Sequence[DeviceSpec]


def _frozen(mapping: dict[str, _T]) -> Mapping[str, _T]:
    return MappingProxyType(mapping)


def _location(spec: LocationSpec) -> Location:
    return Location(lat=spec.lat, lon=spec.lon, text=spec.text)


def _overrides(spec: OverrideSpec) -> Overrides:
    faults = {
        code: FaultOverride(
            readings=change.readings,
            severity=Severity(change.severity) if change.severity else None,
            enabled=change.enabled,
        )
        for code, change in spec.faults.items()
    }
    return Overrides(params=_frozen(dict(spec.params)), faults=_frozen(faults))


def _member(spec: PersonSpec, role: MemberRole) -> Member:
    return Member(
        id=spec.id,
        name=spec.name,
        role=role,
        buildings=tuple(spec.buildings),
        contact=Contact(phone=spec.phone, email=spec.email),
        publish_contact=spec.publish_contact,
    )


def build_site(specs: SiteSpecs) -> Site:
    """The immutable model of checked specs."""
    return Site(
        street=Street(
            id=specs.street.id,
            name=specs.street.name,
            city=specs.street.city,
            timezone=specs.street.timezone,
            language=specs.street.language,
            grouping=GroupingOverrides(**specs.street.grouping.model_dump()),
        ),
        communities=_frozen({c.id: Community(id=c.id, name=c.name) for c in specs.communities}),
        grids=_frozen(
            {
                g.id: Grid(
                    id=g.id,
                    name=g.name,
                    community_id=g.community,
                    team_id=g.team,
                    service_phone=g.service_phone,
                )
                for g in specs.grids
            }
        ),
        buildings=_frozen(
            {
                b.id: Building(
                    id=b.id,
                    name=b.name,
                    grid_id=b.grid,
                    households=b.households,
                    care=CareColour(b.care),
                    location=_location(b.location),
                )
                for b in specs.buildings
            }
        ),
        devices=_frozen(
            {
                d.id: Device(
                    id=d.id,
                    type=d.type,
                    building_id=d.building,
                    name=d.name,
                    location=_location(d.location),
                    overrides=_overrides(d),
                    circuit=d.circuit,
                    edge=d.edge,
                    installed_at=d.installed_at.astimezone(UTC) if d.installed_at else None,
                )
                for d in specs.devices
            }
        ),
        teams=_frozen(
            {
                t.id: Team(
                    id=t.id,
                    name=t.name,
                    grid_id=t.grid,
                    leader=_member(t.leader, MemberRole.LEADER),
                    members=tuple(_member(m, MemberRole(m.role)) for m in t.members),
                )
                for t in specs.teams
            }
        ),
        departments=_frozen(
            {
                d.id: Department(
                    id=d.id,
                    name=d.name,
                    handles=frozenset(d.handles),
                    contact=Contact(phone=d.phone, email=d.email),
                )
                for d in specs.departments
            }
        ),
        type_overrides=_frozen({name: _overrides(spec) for name, spec in specs.types.items()}),
    )


def _location_doc(location: Location) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if location.lat is not None:
        doc["lat"] = location.lat
    if location.lon is not None:
        doc["lon"] = location.lon
    if location.text:
        doc["text"] = location.text
    return doc


def _overrides_doc(overrides: Overrides) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if overrides.params:
        doc["params"] = dict(overrides.params)
    if overrides.faults:
        faults: dict[str, Any] = {}
        for code, change in overrides.faults.items():
            entry: dict[str, Any] = {}
            if change.readings is not None:
                entry["readings"] = change.readings
            if change.severity is not None:
                entry["severity"] = change.severity.value
            if not change.enabled:
                entry["enabled"] = False
            faults[code] = entry
        doc["faults"] = faults
    return doc


def _person_doc(member: Member) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": member.id, "name": member.name}
    if member.role is not MemberRole.LEADER:
        doc["role"] = member.role.value
    doc.update(_contact_doc(member.contact))
    if member.buildings:
        doc["buildings"] = list(member.buildings)
    if member.publish_contact:
        doc["publish_contact"] = True
    return doc


def _contact_doc(contact: Contact) -> dict[str, str]:
    return {k: v for k, v in (("phone", contact.phone), ("email", contact.email)) if v}


def site_document(site: Site) -> dict[str, Any]:
    """A site as site-file data (plain dicts and lists); parsing it gives an equal Site."""
    street: dict[str, Any] = {"id": site.street.id, "name": site.street.name}
    if site.street.city:
        street["city"] = site.street.city
    if site.street.timezone != "UTC":
        street["timezone"] = site.street.timezone
    if site.street.language != StreetSpec.model_fields["language"].default:
        street["language"] = site.street.language
    grouping = {k: v for k, v in asdict(site.street.grouping).items() if v is not None}
    if grouping != {"enabled": True}:
        street["grouping"] = grouping
    return {
        "version": SUPPORTED_VERSION,
        "street": street,
        "types": {name: _overrides_doc(o) for name, o in site.type_overrides.items()},
        "communities": [{"id": c.id, "name": c.name} for c in site.communities.values()],
        "grids": [
            {
                "id": g.id,
                "name": g.name,
                "community": g.community_id,
                "team": g.team_id,
                **({"service_phone": g.service_phone} if g.service_phone else {}),
            }
            for g in site.grids.values()
        ],
        "teams": [
            {
                "id": t.id,
                "name": t.name,
                "grid": t.grid_id,
                "leader": _person_doc(t.leader),
                "members": [_person_doc(m) for m in t.members],
            }
            for t in site.teams.values()
        ],
        "departments": [
            {"id": d.id, "name": d.name, "handles": sorted(d.handles), **_contact_doc(d.contact)}
            for d in site.departments.values()
        ],
        "buildings": [
            {
                "id": b.id,
                "name": b.name,
                "grid": b.grid_id,
                "households": b.households,
                "care": b.care.value,
                "location": _location_doc(b.location),
            }
            for b in site.buildings.values()
        ],
        "devices": [
            {
                "id": d.id,
                "type": d.type,
                "building": d.building_id,
                "name": d.name,
                "location": _location_doc(d.location),
                **_overrides_doc(d.overrides),
                **{k: v for k, v in (("circuit", d.circuit), ("edge", d.edge)) if v is not None},
                **({"installed_at": d.installed_at.isoformat()} if d.installed_at else {}),
            }
            for d in site.devices.values()
        ],
    }
