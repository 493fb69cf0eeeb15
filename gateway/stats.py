"""Counters of one gateway, for logs, tests and ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.decode import RejectReason


@dataclass(slots=True)
class GatewayStats:
    """Monotonic counts since the gateway started (``pending_points`` is a gauge)."""

    received: int = 0
    accepted: int = 0
    rejected: dict[RejectReason, int] = field(default_factory=dict)
    stale: int = 0
    events_emitted: int = 0
    sink_errors: int = 0
    handler_errors: int = 0
    points_written: int = 0
    points_dropped: int = 0
    write_errors: int = 0
    pending_points: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    checkpoints: int = 0  # state checkpoints written (gateway/state.py)
    checkpoint_errors: int = 0
    reordered: int = 0  # readings that arrived out of ts order and were put back in order
    incidents_opened: int = 0  # building incidents raised by root-cause grouping
    grouped_events: int = 0  # device events folded into a building incident

    @property
    def rejected_total(self) -> int:
        """Rejected messages, all reasons together."""
        return sum(self.rejected.values())

    def reject(self, reason: RejectReason) -> int:
        """Count one rejection; returns the new count for that reason."""
        count = self.rejected.get(reason, 0) + 1
        self.rejected[reason] = count
        return count
