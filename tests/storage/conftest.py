"""The ``store`` fixture: every time-series adapter, opened and empty (SQLite and real InfluxDB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.options import StoreOptions
from storage.tsdb.port import TimeSeriesStore
from storage.tsdb.sqlite import SqliteTimeSeries

#: InfluxDB measures retention back from the wall clock: the fixed timestamps of the contract
#: tests (2025) must stay inside it.
LONG_RETENTION = StoreOptions(retention_days=36_500)


@pytest.fixture(params=["sqlite", pytest.param("influxdb", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    """An opened, empty store of each kind."""
    adapter: TimeSeriesStore
    if request.param == "sqlite":
        adapter = SqliteTimeSeries(tmp_path / "telemetry.sqlite3")
    else:
        adapter = InfluxV1TimeSeries(
            request.getfixturevalue("influxdb_url"), options=LONG_RETENTION
        )
    await adapter.open()
    try:
        yield adapter
    finally:
        await adapter.close()
