"""How a time-series store keeps its data: chunking, retention, rollups, and the site's tags.

The defaults equal those of the ``FM_TSDB_*`` settings in ``core/settings.py`` (a test keeps
them in step); ``fm`` builds the options from the settings, the API and tests may use defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
#: Rollup widths: per minute and per hour (min, max, sum, count of the raw points).
MINUTE_S = 60
HOUR_S = 3_600


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Layout and retention of a time-series store (FM_TSDB_* settings)."""

    #: Width of one raw chunk (embedded store): a whole number of hours.
    chunk_hours: int = 24
    #: Raw points older than this (back from the newest point stored) are dropped.
    retention_days: int = 30
    #: Per-minute rollups are kept this long.
    rollup_minute_days: int = 90
    #: Per-hour rollups are kept this long.
    rollup_hour_days: int = 730
    #: The embedded store folds new points into its rollups at most this often (seconds).
    rollup_interval_s: float = 5.0
    #: ... and at least every this many points, so a fold's work stays bounded under load.
    rollup_max_points: int = 250_000
    #: Page cache of the embedded store's writer, in MiB: holds the chunk being written.
    sqlite_cache_mb: int = 64

    def __post_init__(self) -> None:
        if self.chunk_hours < 1:
            raise ValueError("chunk_hours must be at least 1")
        for name in ("retention_days", "rollup_minute_days", "rollup_hour_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.rollup_interval_s > 0:
            raise ValueError("rollup_interval_s must be positive")
        if self.rollup_max_points < 1:
            raise ValueError("rollup_max_points must be at least 1")
        if self.sqlite_cache_mb < 1:
            raise ValueError("sqlite_cache_mb must be at least 1")


@dataclass(frozen=True, slots=True)
class SeriesTags:
    """Where a device sits: its facility type (the InfluxDB measurement) and its places."""

    facility_type: str
    building_id: str
    grid_id: str
    community_id: str


#: ``device_id -> SeriesTags``, built from the site file by ``fm``.
TagLookup = Mapping[str, SeriesTags]
