"""Pick the time-series adapter from a URL (FM_TSDB_URL)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.options import StoreOptions, TagLookup
from storage.tsdb.port import TimeSeriesStore
from storage.tsdb.sqlite import SqliteTimeSeries


def open_timeseries(
    url: str, *, options: StoreOptions | None = None, tags: TagLookup | None = None
) -> TimeSeriesStore:
    """The adapter for ``url``, not yet opened (call ``await store.open()``).

    ``sqlite:///abs/path`` (or ``sqlite:////abs/path``) → SQLite file;
    ``influxdb://[user:pass@]host:port/db`` (``influxdbs://`` for HTTPS) → InfluxDB v1 HTTP API.
    ``options`` sets chunking, retention and rollups (defaults otherwise); ``tags`` tells the
    InfluxDB adapter each device's facility type and places (from the site file).
    """
    options = options or StoreOptions()
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc:
            raise ValueError(f"sqlite URL takes no host, use sqlite:///absolute/path: {url!r}")
        # sqlite:///abs/path and SQLAlchemy's sqlite:////abs/path (what Settings builds from
        # an absolute data dir) both name /abs/path.
        raw = unquote(parts.path)
        path = Path("/" + raw.lstrip("/")) if raw.startswith("/") else Path(raw)
        if not path.is_absolute() or path == Path("/"):
            raise ValueError(f"sqlite URL needs an absolute file path (sqlite:///…): {url!r}")
        return SqliteTimeSeries(path, options)
    if parts.scheme in {"influxdb", "influxdbs"}:
        return InfluxV1TimeSeries(url, options=options, tags=tags)
    raise ValueError(
        f"unsupported time-series URL scheme {parts.scheme!r}: "
        "use sqlite:///absolute/path or influxdb://host:8086/<database>"
    )
