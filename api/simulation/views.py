"""``POST /api/v1/simulation/faults``: inject or recover a fault in the demo's own fleet."""

from __future__ import annotations

from enum import StrEnum

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminDep
from api.errors import InvalidRequestError
from api.responses import ITEM_ERRORS
from api.schemas import MAX_ID_CHARS, IdField
from api.simulation.control import FleetDep

router = APIRouter(prefix="/api/v1/simulation", tags=["simulation"])


class FaultAction(StrEnum):
    """What to do with the fault."""

    INJECT = "inject"
    RECOVER = "recover"


class FaultCommand(BaseModel):
    """One fault to start or end on one simulated device."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: IdField
    # None only to recover: every fault injected into the device ends.
    code: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    action: FaultAction


@router.post(
    "/faults",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Inject or recover a fault in the demo's simulated fleet",
    responses=ITEM_ERRORS,
)
async def fault_route(command: FaultCommand, _admin: AdminDep, fleet: FleetDep) -> FaultCommand:
    """Accepted: the device shows the fault (or stops showing it) from its next reading."""
    codes = fleet.injectable(command.device_id)
    if codes is None:
        raise InvalidRequestError(f"the simulated fleet has no device {command.device_id!r}")
    if command.code is None:
        if command.action is FaultAction.INJECT:
            raise InvalidRequestError("inject needs a 'code' (a fault of the device's type)")
        fleet.recover(command.device_id)
        return command
    if command.code not in codes:
        known = ", ".join(sorted(codes))
        raise InvalidRequestError(
            f"{command.code!r} is not a fault of {command.device_id!r} (known: {known})"
        )
    if command.action is FaultAction.INJECT:
        fleet.inject(command.device_id, command.code)
    else:
        fleet.recover(command.device_id, command.code)
    return command
