"""SLA policies: the migration seeds the documented defaults; clock values per status."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.escalation.sla import DEFAULT_POLICIES, SlaTimes, clock_values, list_policies
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import OrderStatus
from tests.alerts.conftest import T0


async def test_migration_seeds_the_default_policies(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            stored = {row.severity: SlaTimes.of(row) for row in await list_policies(session)}
    finally:
        await engine.dispose()
    assert stored == {severity.value: times for severity, times in DEFAULT_POLICIES.items()}


def test_default_deadlines_tighten_with_severity() -> None:
    minor, major, critical = (
        DEFAULT_POLICIES[s] for s in sorted(DEFAULT_POLICIES, key=lambda s: s.rank)
    )
    assert critical.ack_s < major.ack_s < minor.ack_s
    assert critical.resolve_s < major.resolve_s < minor.resolve_s
    for times in (minor, major, critical):
        assert times.reminder_s < times.ack_s  # at least one reminder before escalating


@pytest.mark.parametrize(("ack_s", "resolve_s"), [(0, 10), (10, 5), (10, 31 * 24 * 3600)])
def test_impossible_policies_are_refused(ack_s: int, resolve_s: int) -> None:
    with pytest.raises(ValueError):
        SlaTimes(ack_s=ack_s, resolve_s=resolve_s, reminder_s=1, department_ack_s=1)


def test_acknowledged_orders_get_only_a_resolve_deadline() -> None:
    times = SlaTimes(ack_s=60, resolve_s=600, reminder_s=30, department_ack_s=60)
    waiting = clock_values(status=OrderStatus.OPEN, times=times, now=T0)
    assert waiting == {
        "ack_due_at": T0 + timedelta(seconds=60),
        "resolve_due_at": T0 + timedelta(seconds=600),
        "next_reminder_at": T0 + timedelta(seconds=30),
    }
    working = clock_values(status=OrderStatus.IN_PROGRESS, times=times, now=T0)
    assert working == {
        "ack_due_at": None,
        "resolve_due_at": T0 + timedelta(seconds=600),
        "next_reminder_at": None,
    }
    assert set(clock_values(status=OrderStatus.RESOLVED, times=times, now=T0).values()) == {None}
