"""Request dependencies as ``Annotated`` aliases: SessionDep, SiteDep, SettingsDep, AdminDep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, Role, authenticate, require_role
from api.resources import AppResources
from core.settings import Settings
from governance.model import Site

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


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """A relational-store session for the duration of one request."""
    async with resources.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SiteDep = Annotated[Site, Depends(get_site)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_principal(credentials: CredentialsDep, settings: SettingsDep) -> Principal:
    """The authenticated caller."""
    return authenticate(credentials, admin_token=settings.admin_token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_admin(principal: PrincipalDep) -> Principal:
    """The caller, who must be an administrator."""
    return require_role(principal, Role.ADMIN)


AdminDep = Annotated[Principal, Depends(get_admin)]
