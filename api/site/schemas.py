"""Site response bodies: street, communities, grids with their team, buildings."""

from __future__ import annotations

from api.schemas import ApiModel


class StreetOut(ApiModel):
    """The sub-district."""

    id: str
    name: str
    city: str


class CommunityOut(ApiModel):
    """A residential community."""

    id: str
    name: str


class MemberOut(ApiModel):
    """A person in a grid team (contacts are left out)."""

    id: str
    name: str
    role: str
    buildings: list[str]


class TeamOut(ApiModel):
    """The team serving a grid."""

    id: str
    name: str
    leader: MemberOut
    members: list[MemberOut]


class GridOut(ApiModel):
    """A grid with its community and team."""

    id: str
    name: str
    community_id: str
    team: TeamOut


class SiteBuildingOut(ApiModel):
    """A building with its households and care colour."""

    id: str
    name: str
    grid_id: str
    households: int
    care: str


class SiteOut(ApiModel):
    """The whole hierarchy, each list ordered by id."""

    street: StreetOut
    communities: list[CommunityOut]
    grids: list[GridOut]
    buildings: list[SiteBuildingOut]
