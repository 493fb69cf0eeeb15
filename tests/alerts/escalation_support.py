"""Helpers for the SLA / escalation tests: seeded policies, raising through the real flow,
and a recorder of the facts handed to ``record_changes``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import seed_default_policies
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.raising import handle_event
from governance.model import Site
from storage.relational.models import WorkOrder
from tests.alerts.conftest import T0, make_event


@dataclass
class Recorder:
    """Every fact passed to ``record_changes``, in order."""

    changes: list[OrderChange] = field(default_factory=list)

    async def __call__(
        self, session: AsyncSession, *, site: Site, changes: Sequence[OrderChange], now: datetime
    ) -> int:
        self.changes.extend(changes)
        return len(changes)

    def kinds(self, order_id: int | None = None) -> list[ChangeKind]:
        """The kinds recorded (for one order if given)."""
        return [c.kind for c in self.changes if order_id is None or c.order_id == order_id]

    def take(self) -> list[OrderChange]:
        """The facts recorded since the last take."""
        taken, self.changes = self.changes, []
        return taken


def install_recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Patch every caller of ``record_changes`` in the escalation code paths."""
    recorder = Recorder()
    for module in ("alerts.orders.raising", "alerts.orders.incidents", "alerts.escalation.sweep"):
        monkeypatch.setattr(f"{module}.record_changes", recorder)
    return recorder


async def seed_policies(sessions: async_sessionmaker[AsyncSession]) -> None:
    """What migration 0005_sla seeds (the tests build the schema from the models)."""
    async with sessions.begin() as session:
        await seed_default_policies(session, now=T0)


async def raise_fault_at(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    device_id: str,
    code: str,
    *,
    at: datetime,
) -> list[OrderChange]:
    """Raise a fault through the production flow in its own transaction."""
    async with sessions.begin() as session:
        return await handle_event(
            session, site=site, event=make_event(device_id, code, ts=at), now=at
        )


async def load_order(sessions: async_sessionmaker[AsyncSession], order_id: int) -> WorkOrder:
    """A fresh copy of one order."""
    async with sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order
