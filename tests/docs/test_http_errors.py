"""What docs/http-api.md promises about 422 messages, checked through FastAPI's real validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

import httpx
import pytest
from fastapi import FastAPI, Query

from api.errors import install_error_handlers

State = Literal["open", "closed"]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/orders")
    async def orders(
        status: Annotated[list[State] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1)] = 10,
    ) -> list[str]:
        return list(status or [])

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_bad_value_of_a_repeated_parameter_names_the_parameter_and_its_position(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/orders?status=open&status=bogus")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query parameter 'status' (value 2): ")


async def test_type_and_bound_errors_of_several_parameters_are_reported_together(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/orders?status=bogus&limit=0")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "query parameter 'status' (value 1): " in detail
    assert "query parameter 'limit': Input should be greater than or equal to 1" in detail
    assert detail.count("; ") == 1
