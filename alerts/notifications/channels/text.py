"""Work-order notifications as short Markdown for people (the robot channels).

With the site file at hand, a message names the building and its address rather than ids only.
A digest folds many notifications for one robot into one message that names every order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from governance.model import Building, Site

_CHANGE_TITLES = {
    "opened": "New work order",
    "recurred": "Fault recurred",
    "reopened": "Work order reopened",
    "recovered": "Sensor reports recovery",
}


@dataclass(frozen=True, slots=True)
class RobotMessage:
    """A robot's markdown message (DingTalk lists ``title``; WeCom shows only ``text``)."""

    title: str
    text: str


def title(payload: dict[str, Any], site: Site | None = None) -> str:
    """One line naming the change, the fault and where it is."""
    change = str(payload.get("change", "changed"))
    heading = _CHANGE_TITLES.get(change, f"Work order {change.replace('_', ' ')}")
    return f"{heading}: {payload.get('fault_code', '?')} at {_place(payload, site)}"


def markdown(payload: dict[str, Any], site: Site | None = None) -> str:
    """A heading and the fields a crew acts on."""
    lines = [
        f"### {title(payload, site)}",
        f"> order **#{payload.get('order_id')}** · {payload.get('severity')} · "
        f"priority {payload.get('priority')}",
        f"> status: {payload.get('status')} · tier: {payload.get('tier')}",
        f"> team: {payload.get('team_id')} · grid: {payload.get('grid_id')} · "
        f"assignee: {payload.get('assignee') or '—'}",
        f"> at: {payload.get('at')}",
    ]
    address = _address(payload, site)
    if address:
        lines.insert(1, f"> where: {address} · device {payload.get('device_id')}")
    return "\n".join(lines)


def robot_message(payload: dict[str, Any], site: Site | None = None) -> RobotMessage:
    """The message for one notification."""
    return RobotMessage(title=title(payload, site), text=markdown(payload, site))


def digest_message(payloads: Sequence[dict[str, Any]], site: Site | None = None) -> RobotMessage:
    """One message naming every order of ``payloads`` (one line each), oldest first."""
    grids = sorted({_grid(payload, site) for payload in payloads})
    heading = f"{len(payloads)} work-order updates for {', '.join(grids)}"
    lines = [
        f"### {heading}",
        "> folded into one message: this robot accepts only a few messages a minute",
        *(_digest_line(payload, site) for payload in payloads),
    ]
    return RobotMessage(title=heading, text="\n".join(lines))


def _digest_line(payload: dict[str, Any], site: Site | None) -> str:
    change = str(payload.get("change", "changed")).replace("_", " ")
    return (
        f"- **#{payload.get('order_id')}** {payload.get('fault_code')} "
        f"({payload.get('severity')}, tier {payload.get('tier')}) {change} · "
        f"{_address(payload, site) or _place(payload, site)} · "
        f"device {payload.get('device_id') or '—'} · at {payload.get('at')}"
    )


def _place(payload: dict[str, Any], site: Site | None) -> str:
    """The building's name when the site knows the device, else the device or grid id."""
    building = _building(payload, site)
    if building is not None:
        return building.name
    return str(payload.get("device_id") or payload.get("grid_id") or "?")


def _address(payload: dict[str, Any], site: Site | None) -> str:
    """``"<building>, <address>"`` from the site file; empty when the site does not know it."""
    building = _building(payload, site)
    if building is None:
        return ""
    address = building.location.text
    return f"{building.name}, {address}" if address else building.name


def _grid(payload: dict[str, Any], site: Site | None) -> str:
    grid_id = str(payload.get("grid_id"))
    grid = site.grids.get(grid_id) if site is not None else None
    return grid.name if grid is not None else grid_id


def _building(payload: dict[str, Any], site: Site | None) -> Building | None:
    if site is None:
        return None
    device = site.devices.get(str(payload.get("device_id")))
    return site.buildings.get(device.building_id) if device is not None else None
