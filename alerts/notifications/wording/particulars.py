"""What the site file says about a notification's order: names, addresses, people, local times.

Everything here tolerates a payload the site does not know (a device removed from the site file
since, or no site at hand in a test): a missing name is ``None`` and the words fall back to ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from governance.model import Building, Site

#: How deadlines and times read on a phone: local date and time, then the UTC offset.
LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True, slots=True)
class Particulars:
    """Names and places of one order, from the site file (None where it does not say)."""

    building: str | None
    address: str
    device: str | None
    device_location: str
    device_type: str | None
    grid: str | None
    community: str | None
    street: str | None
    assignee: str | None
    team: str | None

    def names(self) -> dict[str, str | None]:
        """The ``names`` object of the machine payload."""
        return {
            "building": self.building,
            "grid": self.grid,
            "community": self.community,
            "assignee": self.assignee,
            "device": self.device,
        }


def particulars(payload: Mapping[str, Any], site: Site | None) -> Particulars:
    """Resolve the ids of ``payload`` against the site file."""
    device_id = _text(payload.get("device_id"))
    if site is None:
        return Particulars(
            building=None,
            address="",
            device=device_id,
            device_location="",
            device_type=None,
            grid=None,
            community=None,
            street=None,
            assignee=_text(payload.get("assignee")),
            team=None,
        )
    device = site.devices.get(device_id) if device_id else None
    building = _building(payload, site, device.building_id if device else None)
    grid = site.grids.get(str(payload.get("grid_id")))
    community = site.communities.get(grid.community_id) if grid is not None else None
    if community is None:
        community = site.communities.get(str(payload.get("community_id")))
    team = site.teams.get(str(payload.get("team_id")))
    return Particulars(
        building=building.name if building is not None else None,
        address=building.location.text if building is not None else "",
        device=(device.name or device.id) if device is not None else device_id,
        device_location=device.location.text if device is not None else "",
        device_type=device.type if device is not None else None,
        grid=grid.name if grid is not None else None,
        community=community.name if community is not None else None,
        street=site.street.name,
        assignee=_member_name(site, team_id=payload.get("team_id"), member=payload.get("assignee")),
        team=team.name if team is not None else None,
    )


def local_time(value: object, timezone: str) -> str | None:
    """An RFC 3339 time of the payload as ``YYYY-MM-DD HH:MM (UTC+08:00)`` in ``timezone``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # shown as it came rather than hidden
    local = moment.astimezone(ZoneInfo(timezone))
    offset = local.strftime("%z")
    return f"{local.strftime(LOCAL_TIME_FORMAT)} (UTC{offset[:3]}:{offset[3:]})"


def _building(
    payload: Mapping[str, Any], site: Site, device_building: str | None
) -> Building | None:
    building_id = device_building or _text(payload.get("building_id"))
    return site.buildings.get(building_id) if building_id else None


def _member_name(site: Site, *, team_id: object, member: object) -> str | None:
    """The assignee's name from the team roster; the id when the roster does not have it."""
    member_id = _text(member)
    if member_id is None:
        return None
    team = site.teams.get(str(team_id))
    rosters = [site.teams[team.id]] if team is not None else list(site.teams.values())
    for roster in rosters:
        for person in (roster.leader, *roster.members):
            if person.id == member_id:
                return person.name
    return member_id


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
