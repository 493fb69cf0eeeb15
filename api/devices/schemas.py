"""Device response bodies and query parameter types."""

from __future__ import annotations

from enum import StrEnum

from api.schemas import ApiModel, LocationOut, UtcTimestamp


class DeviceStatus(StrEnum):
    """Status derived from a device's open episodes."""

    OK = "ok"
    FAULT = "fault"
    OFFLINE = "offline"


class DeviceOut(ApiModel):
    """One device with where it sits in the hierarchy and its status."""

    id: str
    type: str
    name: str
    building_id: str
    grid_id: str
    community_id: str
    team_id: str
    status: DeviceStatus


class OpenFaultOut(ApiModel):
    """A fault (or ``offline``) of the device that has not cleared yet."""

    code: str
    severity: str
    since: UtcTimestamp
    detail: str


class BuildingOut(ApiModel):
    """The building a device is in."""

    id: str
    name: str
    grid_id: str
    households: int
    care: str
    location: LocationOut


class ResponsibleOut(ApiModel):
    """The team member who answers for the device's building."""

    id: str
    name: str
    role: str


class DeviceDetailOut(DeviceOut):
    """One device with its location, building, responsible member and open faults."""

    location: LocationOut
    building: BuildingOut
    responsible: ResponsibleOut
    open_faults: list[OpenFaultOut]
