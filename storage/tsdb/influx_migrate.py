"""Move what the earlier InfluxDB layout wrote into the current one (``fm tsdb migrate``).

The earlier layout kept every device in one measurement ``telemetry`` tagged by ``device_id``
only, in the database's default policy (``autogen``). Each device the site knows is read back
from there, rewritten as one line per reading in its facility type's measurement with its
place tags (``fm_raw``), and then its old series are dropped: rerunning moves nothing twice.
Points older than the raw retention are not moved (the policy would drop them at once).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.influx_lines import DEFAULT_MEASUREMENT, DEVICE_TAG, PLACE_TAGS
from storage.tsdb.influxql import identifier, literal
from storage.tsdb.port import Point

log = logging.getLogger(__name__)

#: The policy the earlier layout wrote to: InfluxDB's default one.
LEGACY_POLICY = "autogen"
#: Points per write while moving one device.
MOVE_BATCH = 20_000
_NOT_FIELDS = frozenset({"time", DEVICE_TAG, *PLACE_TAGS})
_US_PER_S = 1_000_000


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What a migration moved."""

    devices: int
    points: int


async def migrate_legacy_layout(
    store: InfluxV1TimeSeries,
    device_ids: Collection[str],
    *,
    retention_days: int,
    policy: str = LEGACY_POLICY,
) -> MigrationReport:
    """Rewrite the old-layout points of ``device_ids`` into the current layout (``store`` is
    open and was given the site's tags), then drop their old series."""
    source = f"{identifier(policy)}.{identifier(DEFAULT_MEASUREMENT)}"
    moved_devices = moved_points = 0
    for device_id in sorted(device_ids):
        rows = await store.query_series(
            f"SELECT * FROM {source} WHERE {identifier(DEVICE_TAG)} = {literal(device_id)} "
            f"AND time > now() - {retention_days}d"
        )
        points = [
            Point(device_id, column, int(row[0]) / _US_PER_S, float(value))
            for columns, values in rows
            for row in values
            for column, value in zip(columns, row, strict=True)
            if column not in _NOT_FIELDS and value is not None
        ]
        if not points:
            continue
        for first in range(0, len(points), MOVE_BATCH):
            await store.write(points[first : first + MOVE_BATCH])
        await store.query_series(
            f"DROP SERIES FROM {identifier(DEFAULT_MEASUREMENT)} "
            f"WHERE {identifier(DEVICE_TAG)} = {literal(device_id)}",
            post=True,
        )
        moved_devices += 1
        moved_points += len(points)
        log.info("moved %d points of %s to the current layout", len(points), device_id)
    return MigrationReport(devices=moved_devices, points=moved_points)
