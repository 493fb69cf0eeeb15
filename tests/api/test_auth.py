"""Bearer-token auth on every protected route; never open when no token is configured."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import Principal, Role, authenticate, require_role
from api.errors import AuthenticationError, AuthNotConfiguredError, PermissionDeniedError
from core.settings import Settings
from tests.api.conftest import TOKEN, make_order, seed, serve

PROTECTED = [
    "/api/v1/site",
    "/api/v1/devices",
    "/api/v1/devices/light-1",
    "/api/v1/workorders",
    "/api/v1/workorders/1",
]

each_protected_route = pytest.mark.parametrize("path", PROTECTED)


@each_protected_route
async def test_missing_token_is_401_with_bearer_challenge(
    make_app: Callable[..., FastAPI], path: str
) -> None:
    async with serve(make_app(), token=None) as client:
        response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


@each_protected_route
async def test_wrong_token_is_401(make_app: Callable[..., FastAPI], path: str) -> None:
    async with serve(make_app(), token=TOKEN + "x") as client:
        response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "invalid bearer token" in response.json()["detail"]


@each_protected_route
async def test_other_scheme_is_401(make_app: Callable[..., FastAPI], path: str) -> None:
    async with serve(make_app(), token=None) as client:
        response = await client.get(path, headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


@each_protected_route
async def test_no_configured_token_closes_every_route_with_503(
    make_app: Callable[..., FastAPI], make_settings: Callable[..., Settings], path: str
) -> None:
    app = make_app(settings=make_settings(admin_token=None))
    async with serve(app, token=TOKEN) as client:
        response = await client.get(path)
    assert response.status_code == 503
    assert "FM_ADMIN_TOKEN" in response.json()["detail"]


@each_protected_route
async def test_right_token_is_let_in(
    make_app: Callable[..., FastAPI], sessions: async_sessionmaker[AsyncSession], path: str
) -> None:
    await seed(sessions, make_order())
    async with serve(make_app()) as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/healthz", "/"])
async def test_public_routes_need_no_token(
    make_app: Callable[..., FastAPI], make_settings: Callable[..., Settings], path: str
) -> None:
    app = make_app(settings=make_settings(admin_token=None))
    async with serve(app, token=None) as client:
        response: httpx.Response = await client.get(path)
    assert response.status_code == 200


class TestAuthenticate:
    """The dependency's logic without HTTP."""

    def test_admin_principal(self) -> None:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=TOKEN)
        principal = authenticate(credentials, admin_token=SecretStr(TOKEN))
        assert principal == Principal(subject="admin", roles=frozenset({Role.ADMIN}))
        assert require_role(principal, Role.ADMIN) is principal

    def test_non_ascii_token_is_rejected_not_crashing(self) -> None:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials="tökén-ünïcödé-123")
        with pytest.raises(AuthenticationError):
            authenticate(credentials, admin_token=SecretStr(TOKEN))

    def test_unconfigured(self) -> None:
        with pytest.raises(AuthNotConfiguredError):
            authenticate(None, admin_token=None)

    def test_missing_role_is_403(self) -> None:
        with pytest.raises(PermissionDeniedError) as caught:
            require_role(Principal(subject="crew", roles=frozenset()), Role.ADMIN)
        assert caught.value.status_code == 403
