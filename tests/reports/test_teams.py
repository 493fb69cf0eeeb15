"""Team figures on a hand-built order history: MTTA, MTTR, MTBF, SLA, tiers, fixes, backlog."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from governance.model import Tier
from reports.order_history import OrderFacts
from reports.teams import team_figures

START = datetime(2024, 5, 1, tzinfo=UTC)
AS_OF = START + timedelta(days=10)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
#: severity → (ack_s, resolve_s)
POLICIES = {"minor": (3600, 8 * 3600)}


def _order(order_id: int, created: datetime, **changes: object) -> OrderFacts:
    base = OrderFacts(
        id=order_id,
        grid_id="g",
        community_id="c",
        severity="minor",
        tier=Tier.GRID.value,
        created_at=created,
        acknowledged_at=None,
        resolved_at=None,
        cancelled=False,
        escalated=False,
        has_sla=True,
        fixed_first_time=None,
        open_at_as_of=True,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _done(
    order_id: int, created: datetime, ack: timedelta, fix: timedelta, **changes: object
) -> OrderFacts:
    values: dict[str, object] = {
        "acknowledged_at": created + ack,
        "resolved_at": created + fix,
        "fixed_first_time": True,
        "open_at_as_of": False,
    }
    return _order(order_id, created, **{**values, **changes})


def test_hand_built_history() -> None:
    day = START + timedelta(days=1)
    orders = [
        # Met both deadlines at the grid: 10 min to ack, 2 h to fix.
        _done(1, day, 10 * MINUTE, 2 * HOUR),
        # Acknowledged late (2 h > 1 h), escalated to the community, fixed there; came back.
        _done(2, day, 2 * HOUR, 6 * HOUR, escalated=True, tier="community", fixed_first_time=False),
        # Silenced: raised, resolved, but outside MTTA, MTTR and SLA.
        _done(3, day, 5 * HOUR, 50 * HOUR, has_sla=False),
        # Still open, unacknowledged for days: a missed deadline and backlog older than a day.
        _order(4, AS_OF - timedelta(days=3)),
        # Raised 30 minutes ago: its deadlines still run, so it is not yet judged.
        _order(5, AS_OF - 30 * MINUTE),
        # Raised before the window and still open: backlog, but not in the window's cohort.
        _order(6, START - timedelta(days=20)),
        # A false alarm: cancelled, leaves every rate.
        _order(7, day, cancelled=True, open_at_as_of=False),
    ]
    figures = team_figures(
        orders, start=START, as_of=AS_OF, policies=POLICIES, monitored_s=864_000.0, failures=4
    )
    assert figures.orders_raised == 6  # 1, 2, 3, 4, 5, 7
    assert figures.orders_resolved == 3
    assert figures.mtta_s == (10 * MINUTE + 2 * HOUR).total_seconds() / 2
    assert figures.mttr_s == (2 * HOUR + 6 * HOUR).total_seconds() / 2
    assert figures.mtbf_s == 216_000.0
    # Judged: 1 (met), 2 (missed), 4 (missed); 5 pending, 3 and 7 have no clock.
    assert figures.sla_compliance == 1 / 3
    assert figures.resolved_by_tier == {"grid": 2, "community": 1, "street": 0}
    assert figures.tier_share(Tier.GRID) == 2 / 3
    assert figures.first_time_fix_rate == 2 / 3
    assert figures.backlog == {"lt_1h": 1, "1h_24h": 0, "1d_7d": 1, "gt_7d": 1}


def test_no_orders_means_no_rates() -> None:
    figures = team_figures(
        [], start=START, as_of=AS_OF, policies=POLICIES, monitored_s=0.0, failures=0
    )
    assert figures.orders_raised == 0
    assert figures.mtta_s is None and figures.mttr_s is None and figures.mtbf_s is None
    assert figures.sla_compliance is None and figures.first_time_fix_rate is None
    assert figures.tier_share(Tier.GRID) is None
