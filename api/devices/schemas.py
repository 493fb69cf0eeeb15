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
    last_seen_at: UtcTimestamp | None


#: The columns of the device list's CSV, in order.
DEVICE_COLUMNS = tuple(DeviceOut.model_fields)


class LatestOut(ApiModel):
    """A metric's newest stored value and its time."""

    value: float | bool
    ts: UtcTimestamp


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
    latest: dict[str, LatestOut]


class TelemetryPointOut(ApiModel):
    """One bucket of a metric's history; booleans average to the share of ``true``."""

    ts: UtcTimestamp
    mean: float
    min: float
    max: float
    count: int


class TelemetryOut(ApiModel):
    """A metric's history over ``[start, end)`` in ``every_s`` buckets (empty ones left out)."""

    device_id: str
    metric: str
    unit: str
    start: UtcTimestamp
    end: UtcTimestamp
    every_s: int
    points: list[TelemetryPointOut]


#: The columns of the telemetry CSV, in order.
TELEMETRY_COLUMNS = tuple(TelemetryPointOut.model_fields)
