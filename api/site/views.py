"""``GET /api/v1/site``."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, SiteDep
from api.responses import AUTH_ERRORS
from api.site.schemas import (
    CommunityOut,
    GridOut,
    MemberOut,
    SiteBuildingOut,
    SiteOut,
    StreetOut,
    TeamOut,
)
from governance.model import Member, Site, Team

router = APIRouter(prefix="/api/v1/site", tags=["site"])


def _member_out(member: Member) -> MemberOut:
    return MemberOut(
        id=member.id, name=member.name, role=member.role.value, buildings=list(member.buildings)
    )


def _team_out(team: Team) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        leader=_member_out(team.leader),
        members=[_member_out(member) for member in team.members],
    )


def site_out(site: Site) -> SiteOut:
    """The response body for a site."""
    return SiteOut(
        street=StreetOut(id=site.street.id, name=site.street.name, city=site.street.city),
        communities=[
            CommunityOut(id=c.id, name=c.name)
            for c in sorted(site.communities.values(), key=lambda c: c.id)
        ],
        grids=[
            GridOut(
                id=grid.id,
                name=grid.name,
                community_id=grid.community_id,
                team=_team_out(site.teams[grid.team_id]),
            )
            for grid in sorted(site.grids.values(), key=lambda g: g.id)
        ],
        buildings=[
            SiteBuildingOut(
                id=b.id, name=b.name, grid_id=b.grid_id, households=b.households, care=b.care.value
            )
            for b in sorted(site.buildings.values(), key=lambda b: b.id)
        ],
    )


@router.get(
    "",
    summary="Street, communities, grids (with team) and buildings",
    responses=AUTH_ERRORS,
)
async def get_site_route(_admin: AdminDep, site: SiteDep) -> SiteOut:
    """The hierarchy the dashboard groups by."""
    return site_out(site)
