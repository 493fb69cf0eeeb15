"""Counting and logging what the gateway refused: whole messages and single metrics.

Every refusal is counted (``GatewayStats``); the log keeps the 1st, 2nd, 4th, 8th … of each reason
(each (reason, metric) for metrics), so a flood stays visible without drowning the log. Everything
a client sent passes through ``printable`` before it reaches a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from gateway.decode import MetricDrop, Rejection
from gateway.logsafe import printable
from gateway.stats import GatewayStats

log = logging.getLogger(__name__)


def _sampled(count: int) -> bool:
    """True for the 1st, 2nd, 4th, 8th … occurrence."""
    return count & (count - 1) == 0


def record_rejection(stats: GatewayStats, rejection: Rejection) -> None:
    """Count (and maybe log) one refused message, and each metric it was refused for."""
    count = stats.reject(rejection.reason)
    if _sampled(count):
        log.warning(
            "rejected a message (%s) from %s: %s [%d %s so far]",
            rejection.reason,
            printable(rejection.device_id or "?"),
            printable(rejection.detail),
            count,
            rejection.reason,
        )
    if rejection.dropped:
        record_drops(stats, rejection.device_id or "?", rejection.dropped)


def record_drops(stats: GatewayStats, device_id: str, drops: Iterable[MetricDrop]) -> None:
    """Count (and maybe log) metrics dropped from a reading whose other metrics went on."""
    for drop in drops:
        count = stats.drop_metric(drop.reason, drop.metric)
        if _sampled(count):
            log.warning(
                "dropped metric %s of %s (%s): %s [%d so far]",
                printable(drop.metric),
                printable(device_id),
                drop.reason,
                printable(drop.detail),
                count,
            )
