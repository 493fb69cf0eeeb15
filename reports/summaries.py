"""Street-wide reports: household-hours per grid or community, team league, street headline.

Each reads the street's history once (episodes, silences, orders) and groups it by the site's
hierarchy, so a report costs one street-wide sweep whatever the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Site
from reports.households import HouseholdTotals, household_totals, household_weights
from reports.order_history import OrderFacts, read_orders, read_policies
from reports.service import check_window, device_uptime
from reports.teams import TeamFigures, team_figures
from reports.uptime import DeviceFigures, Totals


class Level(StrEnum):
    """The hierarchy levels a report's rows can be per."""

    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


@dataclass(frozen=True, slots=True)
class Group:
    """One row's part of the site: its id, name, buildings and devices."""

    id: str
    name: str
    building_ids: Sequence[str]
    device_ids: Sequence[str]


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """Household-hours of one grid or community."""

    group: Group
    totals: HouseholdTotals


@dataclass(frozen=True, slots=True)
class TeamRow:
    """Team performance of one grid, community or the street."""

    group: Group
    figures: TeamFigures


@dataclass(frozen=True, slots=True)
class StreetHeadline:
    """The street's headline figures over a window."""

    communities: int
    grids: int
    buildings: int
    devices: int
    team_members: int
    households: int
    figures: TeamFigures
    availability: float | None
    household_hours_lost: float


def groups(site: Site, level: Level) -> list[Group]:
    """The site's grids, communities or the street, with what each holds, in site order."""

    def key_of(building_id: str) -> str:
        grid = site.grids[site.buildings[building_id].grid_id]
        return {Level.GRID: grid.id, Level.COMMUNITY: grid.community_id}.get(level, site.street.id)

    buildings: dict[str, list[str]] = defaultdict(list)
    for building in site.buildings.values():
        buildings[key_of(building.id)].append(building.id)
    devices: dict[str, list[str]] = defaultdict(list)
    for device in site.devices.values():
        devices[key_of(device.building_id)].append(device.id)
    named: Mapping[str, str] = {
        Level.GRID: {g.id: g.name for g in site.grids.values()},
        Level.COMMUNITY: {c.id: c.name for c in site.communities.values()},
        Level.STREET: {site.street.id: site.street.name},
    }[level]
    return [Group(i, name, buildings[i], devices[i]) for i, name in named.items()]


async def _street_figures(
    session: AsyncSession, site: Site, start: datetime, as_of: datetime
) -> tuple[dict[str, DeviceFigures], Totals]:
    return await device_uptime(
        session, site, tuple(site.devices.values()), start=start, as_of=as_of, every_device=True
    )


async def household_report(
    session: AsyncSession,
    site: Site,
    *,
    level: Level,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[HouseholdRow]:
    """Household-hours lost and household-weighted availability per grid or community."""
    check_window(start, end)
    figures, _ = await _street_figures(session, site, start, min(end, now))
    weights = household_weights(site)
    return [
        HouseholdRow(g, household_totals(site, g.building_ids, g.device_ids, figures, weights))
        for g in groups(site, level)
    ]


def _order_key(site: Site, level: Level) -> Callable[[OrderFacts], str]:
    if level is Level.GRID:
        return lambda order: order.grid_id
    if level is Level.COMMUNITY:
        return lambda order: order.community_id
    return lambda _order: site.street.id


async def _team_rows(
    session: AsyncSession,
    site: Site,
    *,
    level: Level,
    start: datetime,
    as_of: datetime,
    reopen_window_s: float,
    figures: Mapping[str, DeviceFigures],
) -> list[TeamRow]:
    orders = await read_orders(session, start=start, as_of=as_of, reopen_window_s=reopen_window_s)
    policies = await read_policies(session)
    by_group: dict[str, list[OrderFacts]] = defaultdict(list)
    key = _order_key(site, level)
    for order in orders:
        by_group[key(order)].append(order)
    rows: list[TeamRow] = []
    for group in groups(site, level):
        devices = [figures[d] for d in group.device_ids if d in figures]
        rows.append(
            TeamRow(
                group,
                team_figures(
                    by_group.get(group.id, []),
                    start=start,
                    as_of=as_of,
                    policies=policies,
                    monitored_s=sum(d.monitored_s for d in devices),
                    failures=sum(d.failures for d in devices),
                ),
            )
        )
    return rows


async def team_report(
    session: AsyncSession,
    site: Site,
    *,
    level: Level,
    start: datetime,
    end: datetime,
    now: datetime,
    reopen_window_s: float,
) -> list[TeamRow]:
    """MTTA, MTTR, MTBF, SLA, tiers, fixes and backlog per grid, community or the street."""
    check_window(start, end)
    as_of = min(end, now)
    figures, _ = await _street_figures(session, site, start, as_of)
    return await _team_rows(
        session,
        site,
        level=level,
        start=start,
        as_of=as_of,
        reopen_window_s=reopen_window_s,
        figures=figures,
    )


async def street_report(
    session: AsyncSession,
    site: Site,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    reopen_window_s: float,
) -> StreetHeadline:
    """The street's size, orders and resolutions per tier, availability and household-hours."""
    check_window(start, end)
    as_of = min(end, now)
    figures, totals = await _street_figures(session, site, start, as_of)
    (row,) = await _team_rows(
        session,
        site,
        level=Level.STREET,
        start=start,
        as_of=as_of,
        reopen_window_s=reopen_window_s,
        figures=figures,
    )
    households = household_totals(
        site, site.buildings, site.devices, figures, household_weights(site)
    )
    return StreetHeadline(
        communities=len(site.communities),
        grids=len(site.grids),
        buildings=len(site.buildings),
        devices=len(site.devices),
        team_members=sum(1 + len(team.members) for team in site.teams.values()),
        households=households.households,
        figures=row.figures,
        availability=totals.availability,
        household_hours_lost=households.household_hours_lost,
    )
