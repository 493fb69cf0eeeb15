"""Team performance from order facts: MTTA, MTTR, MTBF, SLA compliance, tiers, fixes, backlog.

Rates are over the window's cohort: the orders raised in ``[start, as_of)``. Silenced and linked
orders count as raised but not in MTTA, MTTR or SLA (nobody was paged, no clock ran); cancelled
orders (false alarms) are never resolved, so they leave MTTR, SLA and the fix rates too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean

from governance.model import Tier
from reports.order_history import OrderFacts

#: Upper bounds of the backlog's age buckets (part of the HTTP contract: docs/reports.md).
BACKLOG_BOUNDS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_1h", timedelta(hours=1)),
    ("1h_24h", timedelta(days=1)),
    ("1d_7d", timedelta(days=7)),
    ("gt_7d", None),
)


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """The performance figures of one grid, community or the street (None: no data)."""

    orders_raised: int
    orders_resolved: int
    mtta_s: float | None
    mttr_s: float | None
    mtbf_s: float | None
    sla_compliance: float | None
    resolved_by_tier: Mapping[str, int]
    first_time_fix_rate: float | None
    backlog: Mapping[str, int] = field(default_factory=dict)

    def tier_share(self, tier: Tier) -> float | None:
        """Share of the resolved orders that were resolved at ``tier``."""
        resolved = sum(self.resolved_by_tier.values())
        return None if resolved == 0 else self.resolved_by_tier[tier.value] / resolved


def _mean(values: Iterable[float]) -> float | None:
    listed = list(values)
    return fmean(listed) if listed else None


def _share(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def _sla_verdict(
    order: OrderFacts, deadlines: tuple[int, int] | None, as_of: datetime
) -> bool | None:
    """Met, missed, or None while it can still go either way (or has no deadlines)."""
    if deadlines is None or not order.has_sla or order.cancelled:
        return None
    ack_s, resolve_s = deadlines
    ack_limit = order.created_at + timedelta(seconds=ack_s)
    resolve_limit = order.created_at + timedelta(seconds=resolve_s)
    # Escalation happens only on a missed deadline, at whichever tier.
    if order.escalated:
        return False
    if order.acknowledged_at is None:
        return False if as_of > ack_limit else None
    if order.acknowledged_at > ack_limit:
        return False
    if order.resolved_at is None:
        return False if as_of > resolve_limit else None
    return order.resolved_at <= resolve_limit


def _backlog(orders: Iterable[OrderFacts], as_of: datetime) -> dict[str, int]:
    counts = {name: 0 for name, _ in BACKLOG_BOUNDS}
    for order in orders:
        if not order.open_at_as_of:
            continue
        age = as_of - order.created_at
        name = next(n for n, bound in BACKLOG_BOUNDS if bound is None or age < bound)
        counts[name] += 1
    return counts


def team_figures(
    orders: Sequence[OrderFacts],
    *,
    start: datetime,
    as_of: datetime,
    policies: Mapping[str, tuple[int, int]],
    monitored_s: float,
    failures: int,
) -> TeamFigures:
    """The figures of one group's orders; MTBF from its devices' monitored time and failures."""
    cohort = [o for o in orders if start <= o.created_at < as_of]
    clocked = [o for o in cohort if o.has_sla]
    resolved = [o for o in cohort if o.resolved_at is not None and not o.cancelled]
    verdicts = [_sla_verdict(o, policies.get(o.severity), as_of) for o in cohort]
    decided = [v for v in verdicts if v is not None]
    by_tier = {tier.value: 0 for tier in Tier}
    for order in resolved:
        if order.tier in by_tier:
            by_tier[order.tier] += 1
    return TeamFigures(
        orders_raised=len(cohort),
        orders_resolved=len(resolved),
        mtta_s=_mean(
            (o.acknowledged_at - o.created_at).total_seconds()
            for o in clocked
            if o.acknowledged_at is not None
        ),
        mttr_s=_mean(
            (o.resolved_at - o.created_at).total_seconds()
            for o in clocked
            if o.resolved_at is not None and not o.cancelled
        ),
        mtbf_s=None if failures == 0 else monitored_s / failures,
        sla_compliance=_share(sum(decided), len(decided)),
        resolved_by_tier=by_tier,
        first_time_fix_rate=_share(sum(1 for o in resolved if o.fixed_first_time), len(resolved)),
        backlog=_backlog(orders, as_of),
    )
