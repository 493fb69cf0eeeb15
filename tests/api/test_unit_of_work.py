"""The request's session commits once, before the response is sent; a failed commit is an error."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

SILENCE = {
    "scope_kind": "grid",
    "scope_id": "sun-1",
    "starts_at": "2020-01-01T00:00:00+00:00",
    "ends_at": "2999-01-01T00:00:00+00:00",
}


async def test_a_failed_commit_answers_503_not_201(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(_session: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    with monkeypatch.context() as patch:
        patch.setattr(AsyncSession, "commit", refuse)
        response = await client.post("/api/v1/silences", json=SILENCE)
    assert response.status_code == 503
    assert "relational store is unavailable" in response.json()["detail"]
    assert (await client.get("/api/v1/silences")).json() == []


async def test_a_change_is_stored_when_the_answer_arrives(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/silences", json=SILENCE)
    listed = await client.get("/api/v1/silences")
    assert created.status_code == 201
    assert [row["id"] for row in listed.json()] == [created.json()["id"]]
