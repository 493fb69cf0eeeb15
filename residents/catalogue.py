"""The services residents can report, and which work orders each one merges with.

A service names the facility type it is about and the fault codes that are the same problem
seen by a sensor: a resident's "corridor light out" joins an open ``lamp_failure`` order of a
corridor light in that building instead of opening a second job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sensors.catalogue import OFFLINE, Severity

#: Fault codes of resident-opened orders start with this, e.g. ``report:water_leak``.
REPORT_CODE_PREFIX = "report:"


@dataclass(frozen=True, slots=True)
class Service:
    """One Open311 service: what a resident can report."""

    code: str
    name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    # The facility type whose faults are this problem (None: only other residents' reports).
    device_type: str | None
    fault_codes: frozenset[str]
    severity: Severity

    @property
    def order_code(self) -> str:
        """The fault code of a work order a report of this service opens."""
        return f"{REPORT_CODE_PREFIX}{self.code}"


SERVICES: Mapping[str, Service] = MappingProxyType(
    {
        service.code: service
        for service in (
            Service(
                code="corridor_light_out",
                name="Corridor light out (楼道灯不亮)",
                description="A stairwell or corridor light is dark, flickers or trips.",
                group="lighting",
                keywords=("light", "lamp", "dark", "corridor", "stairs"),
                device_type="corridor_light",
                fault_codes=frozenset({"lamp_failure", "no_power", "short_circuit", OFFLINE}),
                severity=Severity.MINOR,
            ),
            Service(
                code="water_leak",
                name="Water leak (漏水)",
                description="Water is leaking or a pipe has burst.",
                group="water",
                keywords=("leak", "burst", "pipe", "water"),
                device_type="pipe",
                fault_codes=frozenset({"leak", "burst"}),
                severity=Severity.MAJOR,
            ),
            Service(
                code="blocked_drain",
                name="Blocked drain (下水道堵塞)",
                description="A drain or sewer is blocked or overflowing.",
                group="water",
                keywords=("drain", "sewer", "blocked", "overflow"),
                device_type="pipe",
                fault_codes=frozenset({"blockage"}),
                severity=Severity.MAJOR,
            ),
            Service(
                code="no_water_pressure",
                name="No water pressure (水压不足)",
                description="Taps run weakly or not at all.",
                group="water",
                keywords=("pressure", "tap", "no water"),
                device_type="pipe",
                fault_codes=frozenset({"low_pressure", "burst"}),
                severity=Severity.MINOR,
            ),
            Service(
                code="charging_shed_danger",
                name="Charging-shed danger (充电棚隐患)",
                description="Smoke, heat, sparks or a broken socket at an e-bike/EV charging shed.",
                group="safety",
                keywords=("charging", "e-bike", "smoke", "fire", "socket"),
                device_type="charging_shed",
                fault_codes=frozenset(
                    {"smoke", "overheat", "overload", "breaker_trip", "port_fault", OFFLINE}
                ),
                severity=Severity.MAJOR,
            ),
            Service(
                code="other",
                name="Other problem (其他问题)",
                description="Anything else about the building that the grid team should look at.",
                group="other",
                keywords=("other",),
                device_type=None,
                fault_codes=frozenset(),
                severity=Severity.MINOR,
            ),
        )
    }
)


def service_of_order_code(fault_code: str) -> Service | None:
    """The service whose reports opened orders with ``fault_code`` (None for sensor codes)."""
    if not fault_code.startswith(REPORT_CODE_PREFIX):
        return None
    return SERVICES.get(fault_code.removeprefix(REPORT_CODE_PREFIX))
