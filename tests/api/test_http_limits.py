"""The HTTP boundary: oversized bodies get 413 before parsing, JSON is nosniff and no-store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.relational.models import WorkOrder
from tests.api.conftest import make_order, seed

TEN_MB = 10 * 1024 * 1024


async def count_orders(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(WorkOrder)) or 0)


async def test_a_10_mb_body_is_refused_with_413_and_changes_nothing(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order())
    body = b'{"note": "' + b"x" * TEN_MB + b'"}'

    response = await client.post(
        "/api/v1/workorders/1/ack", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert "FM_HTTP_MAX_BODY_BYTES" in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    async with sessions() as session:
        order = await session.get(WorkOrder, 1)
        assert order is not None and order.acknowledged_at is None
    assert await count_orders(sessions) == 1


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order())

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"note": "'
        for _ in range(64):
            yield b"y" * 65_536
        yield b'"}'

    response = await client.post(
        "/api/v1/workorders/1/ack", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    async with sessions() as session:
        order = await session.get(WorkOrder, 1)
        assert order is not None and order.acknowledged_at is None


async def test_json_answers_are_nosniff_and_not_cached(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/workorders", "/api/v1/workorders/999", "/healthz"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path


async def test_a_small_body_still_works(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order())
    response = await client.post(
        "/api/v1/workorders/1/ack", json={"note": "on my way", "version": 1}
    )
    assert response.status_code == 200, response.text
