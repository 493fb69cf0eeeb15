"""Each collector exposes exactly its stats object's values, read live at scrape time.

The tables below name the series of every field: a stats field added without a series (or a
series renamed) fails here, so /metrics never silently misses a counter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from prometheus_client.registry import Collector

from alerts.escalation.sweeper import SweepStats
from alerts.handling import IntakeStats
from alerts.metrics.parts import (
    GroupingCollector,
    IntakeCollector,
    RelayCollector,
    SweeperCollector,
)
from alerts.notifications.relay import RelayStats
from alerts.orders.changes import ChangeKind
from alerts.orders.held_pages import DecisionStats
from gateway.decode import RejectReason
from gateway.metrics import GatewayCollector
from gateway.stats import GatewayStats
from tests.fm.metrics_text import scrape, unlabelled

GATEWAY_SERIES = {
    "received": "fm_gateway_messages_received_total",
    "accepted": "fm_gateway_messages_accepted_total",
    "handler_errors": "fm_gateway_handler_errors_total",
    "metrics_accepted": "fm_gateway_metrics_accepted_total",
    "stale": "fm_gateway_stale_readings_total",
    "seq_resets": "fm_gateway_seq_resets_total",
    "reordered": "fm_gateway_reordered_readings_total",
    "events_emitted": "fm_gateway_events_emitted_total",
    "sink_errors": "fm_gateway_sink_errors_total",
    "points_written": "fm_gateway_points_written_total",
    "points_dropped": "fm_gateway_points_dropped_total",
    "points_spooled": "fm_gateway_points_spooled_total",
    "spool_errors": "fm_gateway_spool_errors_total",
    "pending_points": "fm_gateway_points_pending",
    "writes": "fm_gateway_write_seconds_count",
    "write_seconds_total": "fm_gateway_write_seconds_sum",
    "write_seconds_last": "fm_gateway_write_last_seconds",
    "write_errors": "fm_gateway_write_errors_total",
    "write_recoveries": "fm_gateway_write_recoveries_total",
    "connects": "fm_gateway_connects_total",
    "connect_failures": "fm_gateway_connect_failures_total",
    "disconnects": "fm_gateway_disconnects_total",
    "checkpoints": "fm_gateway_checkpoints_total",
    "checkpoint_errors": "fm_gateway_checkpoint_errors_total",
    "acks_sent": "fm_gateway_acks_sent_total",
    "acks_stale": "fm_gateway_acks_stale_total",
}
INTAKE_SERIES = {
    "handed_over": "fm_alerts_events_handed_over_total",
    "committed": "fm_alerts_events_committed_total",
    "batches": "fm_alerts_batches_total",
    "retries": "fm_alerts_commit_retries_total",
    "failed": "fm_alerts_events_failed_total",
    "rejected": "fm_alerts_events_rejected_total",
    "abandoned": "fm_alerts_events_abandoned_total",
    "opened": "fm_alerts_orders_opened_total",
    "deduplicated": "fm_alerts_events_deduplicated_total",
    "recovered": "fm_alerts_orders_recovered_total",
    "backlog": "fm_alerts_backlog_events",
    "commit_seconds_sum": "fm_alerts_commit_seconds_sum",
    "commit_seconds_max": "fm_alerts_commit_max_seconds",
}
RELAY_SERIES = {
    "claimed": "fm_relay_claimed_total",
    "delivered": "fm_relay_delivered_total",
    "retried": "fm_relay_retried_total",
    "dead": "fm_relay_dead_total",
    "lost_leases": "fm_relay_lost_leases_total",
    "loop_errors": "fm_relay_loop_errors_total",
    "digests_sent": "fm_relay_digests_sent_total",
    "folded": "fm_relay_folded_total",
    "rate_limited": "fm_relay_rate_limited_total",
    "robot_backoffs": "fm_relay_robot_backoffs_total",
}
GROUPING_SERIES = {
    "rounds": "fm_grouping_rounds_total",
    "dropped": "fm_grouping_pages_dropped_total",
    "grouped": "fm_grouping_pages_grouped_total",
    "own_orders": "fm_grouping_pages_own_orders_total",
    "opened": "fm_grouping_orders_opened_total",
    "failed": "fm_grouping_failed_rounds_total",
}
SWEEP_SERIES = {
    "rounds": "fm_escalation_rounds_total",
    "escalated": "fm_escalation_escalated_total",
    "reminded": "fm_escalation_reminded_total",
    "failed": "fm_escalation_failed_rounds_total",
}
CASES: list[tuple[type[Any], type[Collector], dict[str, str]]] = [
    (GatewayStats, GatewayCollector, GATEWAY_SERIES),
    (IntakeStats, IntakeCollector, INTAKE_SERIES),
    (RelayStats, RelayCollector, RELAY_SERIES),
    (SweepStats, SweeperCollector, SWEEP_SERIES),
    (DecisionStats, GroupingCollector, GROUPING_SERIES),
]


def distinct_values(stats: Any) -> None:
    """Give every scalar field its own value, so a series reading the wrong field shows."""
    for number, field in enumerate(dataclasses.fields(stats), start=1):
        current = getattr(stats, field.name)
        if isinstance(current, float):
            setattr(stats, field.name, number + 0.25)
        elif isinstance(current, int):
            setattr(stats, field.name, 100 * number)


@pytest.mark.parametrize(
    ("stats_type", "collector_type", "series"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_every_field_is_exposed_under_its_series(
    stats_type: type[Any], collector_type: type[Collector], series: dict[str, str]
) -> None:
    stats = stats_type()
    distinct_values(stats)
    collector = collector_type(stats)  # type: ignore[call-arg]

    found = unlabelled(scrape(collector))

    # Dict-valued fields are labelled families, tested on their own below.
    scalar_fields = {
        f.name for f in dataclasses.fields(stats) if not isinstance(getattr(stats, f.name), dict)
    }
    assert set(series) == scalar_fields, "a stats field without a series (or a stale name)"
    assert {name: found.get(name) for name in series.values()} == {
        name: getattr(stats, field) for field, name in series.items()
    }


def test_a_scrape_reads_the_stats_as_they_are_now() -> None:
    stats = GatewayStats()
    collector = GatewayCollector(stats)
    assert unlabelled(scrape(collector))["fm_gateway_messages_received_total"] == 0

    stats.received += 3
    stats.pending_points = 7

    found = unlabelled(scrape(collector))
    assert found["fm_gateway_messages_received_total"] == 3
    assert found["fm_gateway_points_pending"] == 7


def test_rejections_by_reason_include_zeros_for_every_known_reason() -> None:
    stats = GatewayStats()
    stats.reject(RejectReason.BAD_JSON)
    stats.reject(RejectReason.BAD_JSON)
    stats.reject(RejectReason.UNKNOWN_DEVICE)

    found = scrape(GatewayCollector(stats))

    rejected = {
        dict(labels)["reason"]: value
        for (name, labels), value in found.items()
        if name == "fm_gateway_messages_rejected_total"
    }
    assert rejected == {
        reason.value: {"bad_json": 2, "unknown_device": 1}.get(reason.value, 0)
        for reason in RejectReason
    }


def test_dropped_metrics_are_labelled_by_reason_and_metric() -> None:
    stats = GatewayStats()
    stats.drop_metric("null", "temp_c")
    stats.drop_metric("unknown_metric", "(unknown)")
    stats.drop_metric("unknown_metric", "(unknown)")

    found = scrape(GatewayCollector(stats))

    dropped = {
        (dict(labels)["reason"], dict(labels)["metric"]): value
        for (name, labels), value in found.items()
        if name == "fm_gateway_dropped_metrics_total"
    }
    assert dropped == {("null", "temp_c"): 1, ("unknown_metric", "(unknown)"): 2}


def test_order_changes_are_labelled_by_kind_with_zeros() -> None:
    stats = IntakeStats(by_kind={"opened": 4, "recovered": 1})

    found = scrape(IntakeCollector(stats))

    changes = {
        dict(labels)["kind"]: value
        for (name, labels), value in found.items()
        if name == "fm_alerts_order_changes_total"
    }
    assert changes == {kind.value: stats.by_kind.get(kind.value, 0) for kind in ChangeKind}


def test_the_parts_of_one_process_share_a_registry_without_clashing() -> None:
    found = scrape(
        GatewayCollector(GatewayStats()),
        IntakeCollector(IntakeStats()),
        RelayCollector(RelayStats()),
        SweeperCollector(SweepStats()),
    )
    prefixes = {name.split("_")[1] for name, _ in found}
    assert prefixes == {"gateway", "alerts", "relay", "escalation"}
