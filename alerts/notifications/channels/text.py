"""A work-order notification as short Markdown for people (the robot channels)."""

from __future__ import annotations

from typing import Any

_CHANGE_TITLES = {
    "opened": "New work order",
    "recurred": "Fault recurred",
    "reopened": "Work order reopened",
    "recovered": "Sensor reports recovery",
}


def title(payload: dict[str, Any]) -> str:
    """One line naming the change, the fault and where it is."""
    change = str(payload.get("change", "changed"))
    heading = _CHANGE_TITLES.get(change, f"Work order {change.replace('_', ' ')}")
    subject = payload.get("device_id") or payload.get("grid_id") or "?"
    return f"{heading}: {payload.get('fault_code', '?')} at {subject}"


def markdown(payload: dict[str, Any]) -> str:
    """A heading and the fields a crew acts on."""
    lines = [
        f"### {title(payload)}",
        f"> order **#{payload.get('order_id')}** · {payload.get('severity')} · "
        f"priority {payload.get('priority')}",
        f"> status: {payload.get('status')} · tier: {payload.get('tier')}",
        f"> team: {payload.get('team_id')} · grid: {payload.get('grid_id')} · "
        f"assignee: {payload.get('assignee') or '—'}",
        f"> at: {payload.get('at')}",
    ]
    return "\n".join(lines)
