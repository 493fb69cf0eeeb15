"""Collectors of the alerts parts running in a process: intake, outbox relay, escalation sweeper.

Each reads its part's live stats object at scrape time, so nothing is counted twice. Order
changes are labelled by ``ChangeKind``, a fixed set.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from alerts.escalation.sweeper import SweepStats
from alerts.handling import IntakeStats
from alerts.notifications.relay import RelayStats
from alerts.orders.changes import ChangeKind
from alerts.orders.held_pages import DecisionStats


class IntakeCollector(Collector):
    """``fm_alerts_*``: the hand-off from the gateway to committed orders."""

    def __init__(self, stats: IntakeStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """Counters, the backlog, commit latency and order changes by kind."""
        stats = self._stats
        counters = (
            ("fm_alerts_events_handed_over", "Events put on the intake queue", stats.handed_over),
            ("fm_alerts_events_committed", "Events whose transaction committed", stats.committed),
            (
                "fm_alerts_events_rejected",
                "Events the site or catalogue refuses (unknown device, code, building)",
                stats.rejected,
            ),
            ("fm_alerts_events_failed", "Events that failed on their own (a bug)", stats.failed),
            (
                "fm_alerts_events_abandoned",
                "Events still queued when shutdown gave up on a store that was down",
                stats.abandoned,
            ),
            (
                "fm_alerts_events_deduplicated",
                "Raises folded into an already open order or episode",
                stats.deduplicated,
            ),
            (
                "fm_alerts_commit_retries",
                "Batch or event retries after a failed transaction",
                stats.retries,
            ),
            ("fm_alerts_batches", "Transactions committed (group commits)", stats.batches),
            ("fm_alerts_orders_opened", "New work orders", stats.opened),
            ("fm_alerts_orders_recovered", "Orders marked recovered by a clear", stats.recovered),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)
        yield GaugeMetricFamily(
            "fm_alerts_backlog_events",
            "Events queued or in the transaction being retried",
            value=stats.backlog,
        )
        yield SummaryMetricFamily(
            "fm_alerts_commit_seconds",
            "Committed alert transactions and the time spent in them",
            count_value=stats.batches,
            sum_value=stats.commit_seconds_sum,
        )
        yield GaugeMetricFamily(
            "fm_alerts_commit_max_seconds",
            "Longest committed alert transaction since start",
            value=stats.commit_seconds_max,
        )
        changes = CounterMetricFamily(
            "fm_alerts_order_changes",
            "Order changes committed by the intake, by kind",
            labels=["kind"],
        )
        for kind in sorted({*(k.value for k in ChangeKind), *stats.by_kind}):
            changes.add_metric([kind], stats.by_kind.get(kind, 0))
        yield changes


class RelayCollector(Collector):
    """``fm_relay_*``: outbox delivery by this process."""

    def __init__(self, stats: RelayStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """One counter per relay statistic."""
        stats = self._stats
        counters = (
            ("fm_relay_claimed", "Outbox rows leased for delivery", stats.claimed),
            ("fm_relay_delivered", "Rows the destination acknowledged", stats.delivered),
            ("fm_relay_retried", "Failed attempts scheduled for another try", stats.retried),
            ("fm_relay_dead", "Rows given up on (dead letters)", stats.dead),
            (
                "fm_relay_lost_leases",
                "Rows another relay took over before this one settled them",
                stats.lost_leases,
            ),
            ("fm_relay_loop_errors", "Claim or settle failures", stats.loop_errors),
            (
                "fm_relay_digests_sent",
                "Robot messages that folded several rows into one digest",
                stats.digests_sent,
            ),
            ("fm_relay_folded", "Rows delivered inside a digest", stats.folded),
            (
                "fm_relay_rate_limited",
                "Rows held back because their robot's window was full",
                stats.rate_limited,
            ),
            (
                "fm_relay_robot_backoffs",
                'Robot "too fast" answers, each pausing that endpoint',
                stats.robot_backoffs,
            ),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)


class SweeperCollector(Collector):
    """``fm_escalation_*``: the escalation sweep of this process."""

    def __init__(self, stats: SweepStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """One counter per sweeper statistic."""
        stats = self._stats
        counters = (
            ("fm_escalation_rounds", "Completed sweep rounds", stats.rounds),
            ("fm_escalation_escalated", "Orders escalated one tier", stats.escalated),
            ("fm_escalation_reminded", "Order and department reminders", stats.reminded),
            ("fm_escalation_failed_rounds", "Sweep rounds that raised", stats.failed),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)


class GroupingCollector(Collector):
    """``fm_grouping_*``: what the decision over held pages (root-cause grouping) did."""

    def __init__(self, stats: DecisionStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """One counter per decision statistic."""
        stats = self._stats
        counters = (
            ("fm_grouping_rounds", "Decision rounds that committed", stats.rounds),
            (
                "fm_grouping_pages_dropped",
                "Held pages whose outage ended inside the hold: nobody paged",
                stats.dropped,
            ),
            ("fm_grouping_pages_grouped", "Held pages that joined an incident", stats.grouped),
            (
                "fm_grouping_pages_own_orders",
                "Held pages that became the device's own order",
                stats.own_orders,
            ),
            ("fm_grouping_orders_opened", "Orders opened (incidents and own)", stats.opened),
            ("fm_grouping_failed_rounds", "Decision rounds that failed", stats.failed),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)
