"""Helpers of the residents' tests: submit through the API, act on orders as a crew would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.lifecycle import Action, transition
from governance.model import Site
from storage.relational.models import WorkOrder
from storage.relational.resident_models import ResidentReport
from tests.residents.conftest import FORM

V2 = "/open311/v2"


async def submit(client: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    """POST requests.json; the one record it answers (201 asserted)."""
    response = await client.post(f"{V2}/requests.json", data=fields, headers=FORM)
    assert response.status_code == 201, response.text
    [row] = response.json()
    return dict(row)


async def feedback(client: httpx.AsyncClient, request_id: str, **fields: str) -> httpx.Response:
    """POST the feedback extension."""
    return await client.post(f"{V2}/requests/{request_id}/feedback", data=fields, headers=FORM)


async def status_of(client: httpx.AsyncClient, request_id: str) -> str:
    """The Open311 status of a request."""
    [row] = (await client.get(f"{V2}/requests/{request_id}.json")).json()
    return str(row["status"])


async def order_of(sessions: async_sessionmaker[AsyncSession], request_id: str) -> WorkOrder:
    """The work order a report follows, as stored now."""
    async with sessions() as session:
        report = await session.scalar(
            select(ResidentReport).where(ResidentReport.service_request_id == request_id)
        )
        assert report is not None
        order = await session.get(WorkOrder, report.order_id)
        assert order is not None
        return order


async def count_orders(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(WorkOrder)) or 0)


async def crew(
    sessions: async_sessionmaker[AsyncSession], site: Site, order_id: int, action: Action
) -> WorkOrder:
    """The assignee applies ``action`` to the order (committed)."""
    async with sessions.begin() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return await transition(
            session,
            site=site,
            order_id=order_id,
            action=action,
            version=order.version,
            actor="crew",
            now=datetime.now(UTC),
        )
