"""A local write-ahead file for points the time-series store cannot take now.

While the store is down, the writer appends the points it holds to this file and fsyncs it;
from then on they are durable, so the QoS 1 messages behind them are acknowledged without
waiting for the store. Otherwise those messages would fill the broker's in-flight window and
QoS 1 fault events would wait behind telemetry for the whole outage. Once the store has taken
every spooled point the file is emptied; a gateway that starts with a non-empty file (it
crashed during an outage) writes those points first. Points are keyed by device, metric and
``ts`` in the store, so a point written twice changes nothing.

One line per point: ``device<TAB>metric<TAB>ts<TAB>value``; device ids and metric names never
hold a tab (docs/mqtt-contract.md), floats are written with ``repr`` so they read back exactly.
A torn last line (a crash mid-append) is skipped and counted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from storage.tsdb.port import Point

log = logging.getLogger(__name__)


class PointSpool:
    """The spool file of one gateway; every method does blocking I/O (run it in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, points: Iterable[Point]) -> int:
        """Append ``points`` and fsync; how many were appended."""
        lines = [f"{p.device_id}\t{p.metric}\t{p.ts!r}\t{p.value!r}\n" for p in points]
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as spool:
            spool.writelines(lines)
            spool.flush()
            os.fsync(spool.fileno())
        return len(lines)

    def load(self) -> list[Point]:
        """Every point in the file, in the order appended (torn lines left out)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        points: list[Point] = []
        torn = 0
        for line in text.splitlines():
            fields = line.split("\t")
            try:
                device_id, metric, ts, value = fields
                points.append(Point(device_id, metric, float(ts), float(value)))
            except ValueError:
                torn += 1
        if torn:
            log.warning("spool %s: %d unreadable lines skipped (a torn write)", self.path, torn)
        return points

    def clear(self) -> None:
        """Empty the file (every point in it is in the store)."""
        try:
            with self.path.open("w", encoding="utf-8") as spool:
                os.fsync(spool.fileno())
        except FileNotFoundError:
            return
