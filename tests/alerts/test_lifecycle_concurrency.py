"""Two people acting on the same version at once: exactly one wins, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import alerts.orders.lifecycle
from alerts.errors import StaleOrderError
from alerts.orders.lifecycle import Action, transition
from governance.model import Site
from storage.relational.models import OrderStatus, WorkOrder
from tests.alerts.conftest import T0
from tests.alerts.test_lifecycle import add_order, reload, transitions_of

Sessions = async_sessionmaker[AsyncSession]


async def ack_as(sessions: Sessions, site: Site, order_id: int, member: str) -> str:
    """Acknowledge version 1 for ``member``; ``"won"`` or the stale error's message."""
    try:
        async with sessions.begin() as session:
            await transition(
                session,
                site=site,
                order_id=order_id,
                action=Action.ACK,
                version=1,
                actor="admin",
                on_behalf_of=member,
                now=T0,
            )
    except StaleOrderError as exc:
        return str(exc)
    return "won"


async def test_two_acks_at_once_one_wins(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)

    results = await asyncio.gather(
        ack_as(sessions, site, order.id, "mem-1"), ack_as(sessions, site, order.id, "lead-1")
    )

    assert results.count("won") == 1
    [lost] = [r for r in results if r != "won"]
    assert "now version 2, status acknowledged" in lost
    [audit] = await transitions_of(sessions, order.id)
    winner = "mem-1" if results[0] == "won" else "lead-1"
    assert audit.on_behalf_of == winner
    assert (await reload(sessions, order.id)).version == 2


async def test_a_change_committed_between_read_and_write_wins(
    sessions: Sessions, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guarded UPDATE itself, deterministically: the version check has passed, then
    another transaction commits, and our write must not overwrite it."""
    order = await add_order(sessions)
    entry_values = alerts.orders.lifecycle._entry_values

    async def someone_else_first(*args: object) -> dict[str, object]:
        async with sessions.begin() as other:
            await other.execute(
                update(WorkOrder)
                .where(WorkOrder.id == order.id)
                .values(status=OrderStatus.CANCELLED.value, open_key=None, version=2)
            )
        values: Callable[..., Awaitable[dict[str, object]]] = entry_values
        return await values(*args)

    monkeypatch.setattr(alerts.orders.lifecycle, "_entry_values", someone_else_first)

    with pytest.raises(StaleOrderError, match="now version 2, status cancelled"):
        async with sessions.begin() as session:
            await transition(
                session,
                site=site,
                order_id=order.id,
                action=Action.ACK,
                version=1,
                actor="admin",
                now=T0,
            )

    stored = await reload(sessions, order.id)
    assert (stored.status, stored.acknowledged_at) == (OrderStatus.CANCELLED, None)
    assert await transitions_of(sessions, order.id) == []


async def test_many_crew_members_one_winner(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)
    members = ["mem-1", "lead-1"] * 4

    results = await asyncio.gather(*(ack_as(sessions, site, order.id, m) for m in members))

    assert results.count("won") == 1
    assert len(await transitions_of(sessions, order.id)) == 1
