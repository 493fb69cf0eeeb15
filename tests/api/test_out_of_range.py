"""No input produces a 5xx: every route is called with ids, offsets, limits and versions far
beyond what the store holds (2^63, 10^20), generated from the app's own route list so a new
route is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import make_order, seed, serve

HUGE = (2**63, 10**20, 2**63 - 1, 2**31)
_PARAM = re.compile(r"{(\w+)}")


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route in the app's OpenAPI schema."""
    for path, operations in sorted(app.openapi()["paths"].items()):
        for method in sorted(operations):
            yield method.upper(), path


def fill(template: str, number: int) -> str:
    """The path with every parameter set: numbers where ids go, a plausible word elsewhere."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(number) if name.endswith("_id") and name != "department_id" else "fire"

    return _PARAM.sub(value, template)


def body_for(number: int) -> dict[str, object]:
    """A body whose every numeric field is out of range; the rest plausible."""
    return {"version": number, "note": "n", "reason": "r", "assignee": "x", "order_id": number}


@pytest.mark.parametrize("number", HUGE)
async def test_no_route_answers_5xx_to_huge_ids_offsets_and_versions(
    make_app: Callable[..., FastAPI], sessions: async_sessionmaker[AsyncSession], number: int
) -> None:
    await seed(sessions, make_order())
    app = make_app()
    checked = 0
    async with serve(app) as client:
        for method, template in routes(app):
            if template == "/api/v1/stream":
                continue  # an endless response; its Last-Event-ID has its own test
            path = fill(template, number)
            params = {"offset": number, "limit": number, "order_id": number}
            if method == "GET":
                response = await client.get(path, params=params)
            else:
                response = await client.request(method, path, json=body_for(number))
            assert response.status_code < 500, (method, path, response.text)
            checked += 1
    assert checked >= 20, "the route list shrank: is the app still mounting its routers?"


async def test_a_huge_id_is_refused_with_a_message_naming_the_bound(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/api/v1/workorders/{2**63}")
    assert response.status_code == 422
    assert "2147483647" in response.json()["detail"]


async def test_every_route_refuses_a_10_mb_body_before_reading_it(
    make_app: Callable[..., FastAPI], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order())
    app = make_app()
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    refused = 0
    async with serve(app) as client:
        for method, template in routes(app):
            if template == "/api/v1/stream":
                continue
            response = await client.request(
                method,
                fill(template, 1),
                content=body,
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 413, (method, template, response.status_code)
            refused += 1
    assert refused >= 20
