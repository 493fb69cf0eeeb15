"""Fixtures for the residents' tests: the API tests' store and app, on a site with a notice board.

The site is the API tests' one with distinct building coordinates, a service phone on ``sun-1``
and one member who publishes their contact (the leader of ``sun-1`` does not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from governance.model import Contact, Site
from residents.settings import ResidentSettings
from tests.api.conftest import (
    build_site,
    engine,
    make_app,
    make_settings,
    serve,
    sessions,
    settings,
)

__all__ = ["engine", "make_app", "make_settings", "sessions", "settings"]

#: Contact details that must never reach a public answer, and one that may.
SECRET_LEADER_PHONE = "13900000001"
SECRET_LEADER_EMAIL = "leader-private@example.org"
PUBLISHED_PHONE = "13800000002"
SERVICE_PHONE = "0538-1234567"
#: Building coordinates, far enough apart (about 1 km) that the nearest one is unambiguous.
COORDINATES = {"b-sun-1": (36.20, 116.77), "b-sun-2": (36.21, 116.77), "b-steel-1": (36.22, 116.77)}


def resident_site() -> Site:
    """The API tests' site with a notice board's data."""
    site = build_site()
    buildings = {
        key: replace(
            b, location=replace(b.location, lat=COORDINATES[key][0], lon=COORDINATES[key][1])
        )
        for key, b in site.buildings.items()
    }
    team = site.teams["t-sun-1"]
    leader = replace(
        team.leader, contact=Contact(phone=SECRET_LEADER_PHONE, email=SECRET_LEADER_EMAIL)
    )
    member = replace(team.members[0], contact=Contact(phone=PUBLISHED_PHONE), publish_contact=True)
    teams = {**site.teams, team.id: replace(team, leader=leader, members=(member,))}
    grids = {**site.grids, "sun-1": replace(site.grids["sun-1"], service_phone=SERVICE_PHONE)}
    return replace(site, buildings=buildings, teams=teams, grids=grids)


@pytest.fixture
def site() -> Site:
    return resident_site()


@pytest.fixture
def resident_settings() -> ResidentSettings:
    return ResidentSettings(post_limit=50)


@pytest.fixture
def make_resident_app(
    make_app: Callable[..., FastAPI], resident_settings: ResidentSettings
) -> Callable[..., FastAPI]:
    """The app with these resident settings (keyword arguments override fields)."""

    def make(**overrides: object) -> FastAPI:
        app = make_app()
        app.state.resident_settings = resident_settings.model_copy(update=overrides)
        return app

    return make


@pytest.fixture
async def public(make_resident_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    """A client without any token: what a resident's app is."""
    async with serve(make_resident_app(), token=None) as client:
        yield client


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
