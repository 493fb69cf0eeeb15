"""The ``store`` fixture: every time-series adapter, opened and empty (SQLite and real InfluxDB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.port import TimeSeriesStore
from storage.tsdb.sqlite import SqliteTimeSeries


@pytest.fixture(params=["sqlite", pytest.param("influxdb", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    """An opened, empty store of each kind."""
    adapter: TimeSeriesStore
    if request.param == "sqlite":
        adapter = SqliteTimeSeries(tmp_path / "telemetry.sqlite3")
    else:
        adapter = InfluxV1TimeSeries(request.getfixturevalue("influxdb_url"))
    await adapter.open()
    try:
        yield adapter
    finally:
        await adapter.close()
