"""The fleet controller the app may hold: only ``fm demo`` with its simulated fleet passes one."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request

from api.errors import ApiError


class FleetControl(Protocol):
    """What the API may do to a simulated fleet running in this process (thread-safe)."""

    def injectable(self, device_id: str) -> frozenset[str] | None:
        """The codes the device can be given; None when the fleet does not play it."""
        ...

    def inject(self, device_id: str, code: str) -> None:
        """Make the device misbehave with ``code`` until recovered."""
        ...

    def recover(self, device_id: str, code: str | None = None) -> None:
        """End ``code`` (every injected fault when None)."""
        ...


class NoFleetError(ApiError):
    """This process runs no simulated fleet (``fm api``, or ``FM_SIMULATE=false``)."""

    status_code = 404

    def __init__(self) -> None:
        super().__init__(
            "this process runs no simulated fleet: faults can be injected only into `fm demo` "
            "with FM_SIMULATE=true"
        )


def get_fleet(request: Request) -> FleetControl:
    """The app's fleet controller, or 404 when the process plays no fleet."""
    fleet: FleetControl | None = getattr(request.app.state, "fleet", None)
    if fleet is None:
        raise NoFleetError
    return fleet


FleetDep = Annotated[FleetControl, Depends(get_fleet)]
