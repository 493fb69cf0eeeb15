"""Request dependencies as ``Annotated`` aliases: SessionDep, NowDep, SiteDep, AdminDep, …"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, Role, authenticate, require_role
from api.resources import AppResources
from core.settings import Settings
from governance.model import Site
from storage.tsdb.port import TimeSeriesError, TimeSeriesStore

# auto_error=False: the missing-token answer is ours (401 + WWW-Authenticate, JSON detail).
_bearer = HTTPBearer(auto_error=False, description="FM_ADMIN_TOKEN")


def get_resources(request: Request) -> AppResources:
    """The resources the lifespan stored on the app."""
    resources: AppResources = request.app.state.resources
    return resources


ResourcesDep = Annotated[AppResources, Depends(get_resources)]


def get_settings(resources: ResourcesDep) -> Settings:
    """The process settings."""
    return resources.settings


def get_site(resources: ResourcesDep) -> Site:
    """The loaded site (hierarchy, teams, devices)."""
    return resources.site


def get_timeseries(resources: ResourcesDep) -> TimeSeriesStore:
    """The time-series store (telemetry history, latest readings)."""
    if resources.timeseries is None:
        raise TimeSeriesError("this process has no time-series store", store="none")
    return resources.timeseries


def get_now(resources: ResourcesDep) -> datetime:
    """The request's time, read once from the app's clock (so one request sees one instant)."""
    return resources.clock()


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed once when the handler returns, else rolled back.

    Views and the domain functions they call never commit; an error raised anywhere in the
    handler leaves the ``async with`` with nothing committed, so a refused request changes
    nothing.
    """
    async with resources.sessions() as session:
        yield session
        await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SiteDep = Annotated[Site, Depends(get_site)]
NowDep = Annotated[datetime, Depends(get_now)]
TimeSeriesDep = Annotated[TimeSeriesStore, Depends(get_timeseries)]
# scope="function": the commit runs before the response is sent, so a failed commit is
# answered as an error instead of after a success the client already received.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_principal(credentials: CredentialsDep, settings: SettingsDep) -> Principal:
    """The authenticated caller."""
    return authenticate(credentials, admin_token=settings.admin_token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_admin(principal: PrincipalDep) -> Principal:
    """The caller, who must be an administrator."""
    return require_role(principal, Role.ADMIN)


AdminDep = Annotated[Principal, Depends(get_admin)]
