"""open_timeseries picks the adapter from FM_TSDB_URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from fm.runner import store_options
from storage.tsdb.factory import open_timeseries
from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.options import StoreOptions
from storage.tsdb.sqlite import SqliteTimeSeries


@pytest.mark.parametrize("slashes", ["//", "///", "////"])
def test_sqlite_url_gives_the_sqlite_adapter_on_that_file(slashes: str) -> None:
    store = open_timeseries(f"sqlite:{slashes}/var/lib/fm/my%20data/telemetry.sqlite3")
    assert isinstance(store, SqliteTimeSeries)
    assert store.path == Path("/var/lib/fm/my data/telemetry.sqlite3")


def test_the_default_url_from_settings_is_understood(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_timeseries(settings.effective_tsdb_url)
    assert isinstance(store, SqliteTimeSeries)
    assert store.path == tmp_path.resolve() / "telemetry.sqlite3"


@pytest.mark.parametrize(
    ("url", "store"),
    [
        ("influxdb://influx:8086/fm", "http://influx:8086/fm"),
        ("influxdbs://user:pw@influx.example/fm", "https://influx.example:8086/fm"),
    ],
)
def test_influxdb_urls_give_the_v1_adapter(url: str, store: str) -> None:
    adapter = open_timeseries(url)
    assert isinstance(adapter, InfluxV1TimeSeries)
    assert adapter.store == store


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/path.db", "takes no host"),
        ("sqlite:///", "absolute file path"),
        ("sqlite:relative.db", "absolute file path"),
        ("postgresql://x/y", "unsupported time-series URL scheme 'postgresql'"),
        ("/just/a/path", "unsupported time-series URL scheme ''"),
    ],
)
def test_other_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_timeseries(url)


def test_store_options_defaults_are_the_settings_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert store_options(settings) == StoreOptions()


def test_the_settings_reach_the_store(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, tsdb_chunk_hours=6, tsdb_retention_days=9, tsdb_sqlite_cache_mb=8
    )
    store = open_timeseries(settings.effective_tsdb_url, options=store_options(settings))
    assert isinstance(store, SqliteTimeSeries)
    assert (store.options.chunk_hours, store.options.retention_days) == (6, 9)
    assert store.options.sqlite_cache_mb == 8
