"""A named, addressed site in Shanghai time and notification payloads as the outbox writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from alerts.notifications.outbox import notification
from alerts.orders.changes import ChangeKind, OrderChange
from governance.model import Building, Device, Location, Member, Site
from storage.relational.models import OrderStatus, WorkOrder
from tests.alerts.conftest import LIGHT_RED, T0, build_site

PUBLIC_URL = "https://fm.example.org"
BUILDING_NAME = "Shuncheng Block 3 (顺城3号楼)"
ADDRESS = "No. 12 Shuncheng Road (顺城路12号)"
DEVICE_NAME = "Stairwell light, unit 2"
DEVICE_PLACE = "2nd floor landing"
ASSIGNEE = "Zhu Wei (朱伟)"
#: T0 is 08:00 UTC: the acknowledgement deadline 15 minutes later, in Shanghai (UTC+8).
ACK_DUE = T0 + timedelta(minutes=15)
ACK_DUE_LOCAL = "2025-03-01 16:15 (UTC+08:00)"
RESOLVE_DUE = T0 + timedelta(hours=4)
RESOLVE_DUE_LOCAL = "2025-03-01 20:00 (UTC+08:00)"


def named_site(*, building_name: str = BUILDING_NAME, assignee: str = ASSIGNEE) -> Site:
    """The alerts test site with names, addresses and the street in Asia/Shanghai."""
    site = build_site()
    red = site.buildings["b-red"]
    buildings = {
        **site.buildings,
        "b-red": Building(
            red.id, building_name, grid_id=red.grid_id, location=Location(text=ADDRESS)
        ),
    }
    light = site.devices[LIGHT_RED]
    devices = {
        **site.devices,
        LIGHT_RED: Device(
            light.id,
            light.type,
            building_id=light.building_id,
            name=DEVICE_NAME,
            location=Location(text=DEVICE_PLACE),
        ),
    }
    team = site.teams["t1"]
    [member] = team.members
    renamed = Member(member.id, assignee, member.role, buildings=member.buildings)
    teams = {**site.teams, "t1": replace(team, members=(renamed,))}
    street = replace(site.street, timezone="Asia/Shanghai")
    return replace(site, street=street, buildings=buildings, devices=devices, teams=teams)


def order_payload(
    kind: ChangeKind = ChangeKind.OPENED,
    *,
    scope: str = "device",
    detail: str = "current_a=7.5 (> 5)",
    ack_due: bool = True,
    reason: str = "",
    **order_fields: Any,
) -> dict[str, Any]:
    """A light's short-circuit order in building b-red, as its outbox payload."""
    values: dict[str, Any] = {
        "id": 12,
        "version": 3,
        "device_id": LIGHT_RED if scope == "device" else None,
        "fault_code": "short_circuit",
        "severity": "major",
        "priority": 8,
        "status": OrderStatus.OPEN,
        "tier": "grid",
        "team_id": "t1",
        "grid_id": "g1",
        "assignee": "mem-1",
        "occurrences": 1,
        "scope": scope,
        "building_id": "b-red",
        "community_id": "c1",
        "detail": detail,
        "ack_due_at": ACK_DUE if ack_due else None,
        "resolve_due_at": RESOLVE_DUE,
        **order_fields,
    }
    change = OrderChange.of(WorkOrder(**values), kind=kind, at=T0, reason=reason)
    return notification(change, key=f"12:3:{kind.value}:mqtt")
