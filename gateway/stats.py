"""Counters of one gateway, for logs, tests and ``/metrics``.

Plain ints and dicts, so a Prometheus collector reads them as they are: ``rejected`` is one counter
labelled by reason, ``dropped_metrics`` one labelled by (reason, metric). They add up:

- ``received == accepted + rejected_total + handler_errors`` (every message lands in one of them);
- every metric of an accepted reading is either counted in ``metrics_accepted`` or in
  ``dropped_metrics``; a reading whose metrics are all invalid is rejected (``no_valid_metrics``)
  and its metrics are counted in ``dropped_metrics`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class GatewayStats:
    """Monotonic counts since the gateway started (``pending_points`` and ``*_last`` are gauges)."""

    received: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # by RejectReason
    metrics_accepted: int = 0  # valid metrics of accepted readings
    dropped_metrics: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, metric)
    stale: int = 0
    seq_resets: int = 0  # readings whose seq started a new sequence (reboot, absurd jump)
    events_emitted: int = 0
    sink_errors: int = 0
    handler_errors: int = 0
    points_written: int = 0
    points_dropped: int = 0
    points_spooled: int = 0  # points appended to the local spool while the store was down
    spool_errors: int = 0  # appends to the spool that failed (disk full, permissions)
    pending_points: int = 0
    writes: int = 0  # successful store writes (batches)
    write_seconds_total: float = 0.0  # time spent in those writes
    write_seconds_last: float = 0.0
    write_errors: int = 0
    write_recoveries: int = 0  # a write succeeded after the store had failed
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    checkpoints: int = 0  # state checkpoints written (gateway/state.py)
    checkpoint_errors: int = 0
    acks_sent: int = 0  # QoS 1 messages acknowledged once their points and events were durable
    acks_stale: int = 0  # not sent: the connection had gone (the broker delivers them again)
    reordered: int = 0  # readings that arrived out of ts order and were put back in order

    @property
    def rejected_total(self) -> int:
        """Rejected messages, all reasons together."""
        return sum(self.rejected.values())

    @property
    def dropped_metrics_total(self) -> int:
        """Dropped metrics, all reasons and metrics together."""
        return sum(self.dropped_metrics.values())

    def summary(self) -> str:
        """One line for the log: what came in and what became of it."""
        return (
            f"{self.received} messages received, {self.accepted} accepted, "
            f"{self.rejected_total} rejected, {self.stale} stale, "
            f"{self.points_written} points written, {self.points_dropped} dropped, "
            f"{self.acks_sent} acknowledged"
        )

    def reject(self, reason: str) -> int:
        """Count one rejected message; returns the new count for that reason."""
        count = self.rejected.get(reason, 0) + 1
        self.rejected[reason] = count
        return count

    def drop_metric(self, reason: str, metric: str) -> int:
        """Count one dropped metric; returns the new count for that (reason, metric)."""
        key = (reason, metric)
        count = self.dropped_metrics.get(key, 0) + 1
        self.dropped_metrics[key] = count
        return count
