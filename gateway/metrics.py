"""``GatewayCollector``: the gateway's ``GatewayStats`` as Prometheus metrics, read at scrape time.

Nothing is counted twice: the collector reads the live stats object whenever it is scraped. Labels
stay bounded: rejection reasons and drop reasons are fixed enums, metric names come from the
facility profiles (unknown names are already folded to ``(unknown)`` by the decoder).
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

from gateway.decode import RejectReason
from gateway.stats import GatewayStats


class GatewayCollector(Collector):
    """Exposes one gateway's counters as ``fm_gateway_*`` families."""

    def __init__(self, stats: GatewayStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """Every counter and gauge of the stats object, as it is now."""
        stats = self._stats
        counters = (
            ("fm_gateway_messages_received", "MQTT messages received", stats.received),
            ("fm_gateway_messages_accepted", "Messages decoded and handled", stats.accepted),
            (
                "fm_gateway_handler_errors",
                "Messages whose handling raised (received = accepted + rejected + these)",
                stats.handler_errors,
            ),
            (
                "fm_gateway_metrics_accepted",
                "Valid metrics of accepted readings",
                stats.metrics_accepted,
            ),
            ("fm_gateway_stale_readings", "Readings stored but not ruled on (stale)", stats.stale),
            ("fm_gateway_seq_resets", "Readings that started a new seq", stats.seq_resets),
            ("fm_gateway_reordered_readings", "Readings put back in ts order", stats.reordered),
            ("fm_gateway_events_emitted", "Device events handed to alerts", stats.events_emitted),
            ("fm_gateway_sink_errors", "Events the alerts sink refused", stats.sink_errors),
            ("fm_gateway_points_written", "Points written to the store", stats.points_written),
            ("fm_gateway_points_dropped", "Points given up on", stats.points_dropped),
            (
                "fm_gateway_points_spooled",
                "Points appended to the local spool while the store was down",
                stats.points_spooled,
            ),
            ("fm_gateway_spool_errors", "Appends to the spool that failed", stats.spool_errors),
            ("fm_gateway_write_errors", "Failed store writes (retried)", stats.write_errors),
            (
                "fm_gateway_write_recoveries",
                "Writes that succeeded after the store had failed",
                stats.write_recoveries,
            ),
            ("fm_gateway_connects", "Broker connections made", stats.connects),
            ("fm_gateway_connect_failures", "Broker connections refused", stats.connect_failures),
            ("fm_gateway_disconnects", "Broker connections lost", stats.disconnects),
            ("fm_gateway_checkpoints", "Rule-state checkpoints written", stats.checkpoints),
            ("fm_gateway_checkpoint_errors", "Checkpoints that failed", stats.checkpoint_errors),
            (
                "fm_gateway_acks_sent",
                "QoS 1 messages acknowledged once their points and events were durable",
                stats.acks_sent,
            ),
            (
                "fm_gateway_acks_stale",
                "Acknowledgements not sent because their connection had gone",
                stats.acks_stale,
            ),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)
        yield GaugeMetricFamily(
            "fm_gateway_points_pending",
            "Points waiting to be written (the write backlog)",
            value=stats.pending_points,
        )
        yield SummaryMetricFamily(
            "fm_gateway_write_seconds",
            "Successful store writes (batches) and the time spent in them",
            count_value=stats.writes,
            sum_value=stats.write_seconds_total,
        )
        yield GaugeMetricFamily(
            "fm_gateway_write_last_seconds",
            "Duration of the last successful store write",
            value=stats.write_seconds_last,
        )
        yield self._rejected()
        yield self._dropped_metrics()

    def _rejected(self) -> Metric:
        family = CounterMetricFamily(
            "fm_gateway_messages_rejected", "Messages refused, by reason", labels=["reason"]
        )
        counts = self._stats.rejected
        # Every known reason is present, so a dashboard shows a zero rather than a gap.
        for reason in sorted({*(r.value for r in RejectReason), *counts}):
            family.add_metric([reason], counts.get(reason, 0))
        return family

    def _dropped_metrics(self) -> Metric:
        family = CounterMetricFamily(
            "fm_gateway_dropped_metrics",
            "Single metrics dropped from a reading, by reason and metric name",
            labels=["reason", "metric"],
        )
        for (reason, metric), count in sorted(self._stats.dropped_metrics.items()):
            family.add_metric([reason, metric], count)
        return family
