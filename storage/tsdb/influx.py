"""Time-series store on InfluxDB through its v1 HTTP API (1.x, 2.x v1 compatibility, 3.x).

Layout (what Grafana and ``influx`` users expect, see docs/influxdb.md): one line per reading,
a measurement per facility type, tags ``device_id``, ``building_id``, ``grid_id``,
``community_id``, one float field per metric (``influx_lines``). Raw points go to the retention
policy ``fm_raw`` (the database default, FM_TSDB_RETENTION_DAYS); continuous queries fold them
into ``fm_rollup_1m`` and ``fm_rollup_1h``. Rewriting a metric at the same ``(device, ts)``
replaces that field only, which is "duplicate replaces" of the port. Timestamps travel as
integer microseconds (``precision=u``), the grid the SQLite adapter uses too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from storage.tsdb.influx_lines import DEVICE_TAG, LineEncoder
from storage.tsdb.influxql import (
    HOUR_POLICY,
    MINUTE_POLICY,
    RAW_POLICY,
    ROLLUP_QUERIES,
    drop_query,
    identifier,
    retention_policy,
    rollup_query,
    select,
    select_buckets,
    select_latest,
    show_metrics,
    show_policies,
)
from storage.tsdb.options import SECONDS_PER_DAY, StoreOptions, TagLookup
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesError
from storage.tsdb.window import bucket_window, read_window, us_to_datetime

DEFAULT_PORT = 8086
#: Devices per ``latest`` request, so the statement stays a modest request body.
LATEST_CHUNK = 200
#: What InfluxDB 1.x answers when some points of a batch lie before the retention policy.
_BEYOND_RETENTION = "points beyond retention policy dropped"

_SCHEMES = {"influxdb": "http", "influxdbs": "https"}
_VALUE = attrgetter("value")
_TS = attrgetter("ts")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class _Series:
    """One series of a query answer: which statement produced it, its tags and its rows."""

    statement: int
    tags: dict[str, str]
    columns: list[str]
    rows: list[list[Any]]


def _timeout(value: str | None) -> httpx.Timeout | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or not math.isfinite(seconds):
        raise ValueError(f"URL option timeout_s={value!r} must be a positive number of seconds")
    return httpx.Timeout(seconds)


def _flag(value: str, *, option: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"URL option {option}={value!r} must be true or false")


class InfluxV1TimeSeries:
    """``TimeSeriesStore`` over InfluxDB's v1 ``/write``, ``/query`` and ``/ping``.

    URL: ``influxdb://[user:password@]host[:8086]/<database>[?timeout_s=…&create_database=…]``
    (``influxdbs://`` for HTTPS). On 2.x/3.x the password is the API token and the database a
    bucket with a DBRP mapping; set ``create_database=false`` where CREATE DATABASE is refused:
    then retention policies and continuous queries are left to the operator as well, and
    points go to the database's default policy.
    """

    __slots__ = (
        "_auth",
        "_base_url",
        "_client",
        "_create_database",
        "_database",
        "_encoder",
        "_options",
        "_policy",
        "_store",
        "_timeout",
        "_transport",
    )

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        options: StoreOptions | None = None,
        tags: TagLookup | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(
                "InfluxDB URL must look like influxdb://user:pass@host:8086/<database>"
            )
        database = unquote(parts.path.strip("/"))
        if not database or "/" in database:
            raise ValueError(f"InfluxDB URL needs exactly one database name in its path: {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        port = parts.port or DEFAULT_PORT
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        self._base_url = f"{_SCHEMES[parts.scheme]}://{host}:{port}"
        self._database = database
        self._store = f"{self._base_url}/{database}"  # never the credentials
        self._auth = (
            (unquote(parts.username), unquote(parts.password or ""))
            if parts.username is not None
            else None
        )
        # Unset: httpx's own default timeout applies.
        self._timeout = _timeout(query.get("timeout_s"))
        self._create_database = _flag(
            query.get("create_database", "true"), option="create_database"
        )
        self._options = options or StoreOptions()
        # The policy of raw points: ours when we manage the database, else its default.
        self._policy: str | None = RAW_POLICY if self._create_database else None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._encoder = LineEncoder(tags)

    @property
    def store(self) -> str:
        """The server and database, without credentials (as errors report it)."""
        return self._store

    @property
    def database(self) -> str:
        """The database name."""
        return self._database

    @property
    def policy(self) -> str | None:
        """The retention policy raw points go to (None: the database default)."""
        return self._policy

    async def open(self) -> None:
        """Check the server answers; create the database, its retention policies and rollup
        queries (unless told not to); idempotent."""
        if self._client is not None:
            return
        client_options: dict[str, Any] = {"base_url": self._base_url, "auth": self._auth}
        if self._timeout is not None:
            client_options["timeout"] = self._timeout
        self._client = httpx.AsyncClient(transport=self._transport, **client_options)
        try:
            if not await self.ping():
                raise TimeSeriesError("server does not answer /ping", store=self._store)
            if self._create_database:
                await self._query(f"CREATE DATABASE {identifier(self._database)}", post=True)
                await self._ensure_policies()
                await self._ensure_rollups()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the HTTP connection pool; idempotent."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def ping(self) -> bool:
        """True when ``/ping`` answers with success."""
        if self._client is None:
            return False
        try:
            response = await self._client.get("/ping")
        except httpx.HTTPError:
            return False
        return response.is_success

    async def write(self, points: Sequence[Point]) -> None:
        """Write one batch in one request; a non-finite value refuses the whole batch.

        Points older than the raw retention are left out (InfluxDB would drop them and refuse
        the request, and a retried batch would never go through)."""
        if not points:
            return
        client = self._require_client()
        body = self.encode(self._retained(points))
        if not body:
            return
        params = {"db": self._database, "precision": "u"}
        if self._policy is not None:
            params["rp"] = self._policy
        try:
            response = await client.post("/write", params=params, content=body)
        except httpx.HTTPError as exc:
            raise self._transport_error("write", exc) from exc
        if not response.is_success and _BEYOND_RETENTION not in response.text:
            raise TimeSeriesError(
                f"write refused ({response.status_code}): {_error_text(response)}",
                store=self._store,
            )

    def encode(self, points: Sequence[Point]) -> bytes:
        """Line protocol for ``points``, one line per reading (public for the benchmark)."""
        if not all(map(math.isfinite, map(_VALUE, points))):
            raise TimeSeriesError("batch holds a non-finite value", store=self._store)
        try:
            lines = self._encoder.lines(points)
        except (ValueError, OverflowError) as exc:
            raise TimeSeriesError(f"cannot encode batch: {exc}", store=self._store) from exc
        return "\n".join(lines).encode()

    def _retained(self, points: Sequence[Point]) -> Sequence[Point]:
        if self._policy is None:
            return points
        cutoff = time.time() - self._options.retention_days * SECONDS_PER_DAY
        if min(map(_TS, points)) > cutoff:
            return points
        return [point for point in points if point.ts > cutoff]

    async def read(
        self,
        *,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        aggregate: Aggregate | None = None,
        every_s: float | None = None,
    ) -> list[Sample]:
        """Points of one series in ``[start, end)``; bucketed by ``every_s`` when aggregated."""
        window = read_window(start=start, end=end, aggregate=aggregate, every_s=every_s)
        self._require_client()
        if window.empty:
            return []
        rows = await self._query(select(device_id, metric, window, self._policy))
        if window.aggregate is not None and window.every_us is None:
            # One sample for the whole window, stamped with its start (as SQLite does);
            # InfluxDB would stamp selectors (min, max, last) with the chosen point's time.
            return [Sample(us_to_datetime(window.start_us), float(value)) for _, value in rows]
        return [Sample(us_to_datetime(int(ts)), float(value)) for ts, value in rows]

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        """Epoch-aligned ``every_s`` buckets of one series in ``[start, end)``, in one query."""
        window = bucket_window(start=start, end=end, every_s=every_s)
        self._require_client()
        if window.empty:
            return []
        rows = await self._query(select_buckets(device_id, metric, window, self._policy))
        return [
            Bucket(us_to_datetime(int(ts)), float(mean), float(low), float(high), int(count))
            for ts, mean, low, high, count in rows
        ]

    async def latest(self, device_ids: Collection[str]) -> Latest:
        """The newest stored sample of every metric of each of ``device_ids``: one statement per
        metric, every chunk of devices in one request."""
        wanted = sorted(set(device_ids))
        self._require_client()
        if not wanted:
            return {}
        metrics = sorted({str(row[0]) for row in await self._query(show_metrics())})
        if not metrics:  # nothing written yet
            return {}
        latest: Latest = {}
        for first in range(0, len(wanted), LATEST_CHUNK):
            chunk = wanted[first : first + LATEST_CHUNK]
            statements = select_latest(metrics, chunk, self._policy)
            for series in await self._answers(statements, post=True):
                metric = metrics[series.statement]
                device = latest.setdefault(series.tags[DEVICE_TAG], {})
                for ts, value in series.rows:
                    sample = Sample(us_to_datetime(int(ts)), float(value))
                    # A device in two measurements (its type changed) keeps the newest.
                    if metric not in device or device[metric].ts <= sample.ts:
                        device[metric] = sample
        return latest

    async def query_series(
        self, statement: str, *, post: bool = False
    ) -> list[tuple[list[str], list[list[Any]]]]:
        """Run InfluxQL (``epoch=u``): the columns and rows of each series of the answer."""
        return [
            (series.columns, series.rows) for series in await self._answers(statement, post=post)
        ]

    async def _ensure_policies(self) -> None:
        """Raw points in ``fm_raw`` (the default policy, so plain queries find them), the
        rollups in policies of their own; durations follow the settings."""
        existing = {str(row[0]) for row in await self._query(show_policies(self._database))}
        for policy, days, default in (
            (RAW_POLICY, self._options.retention_days, True),
            (MINUTE_POLICY, self._options.rollup_minute_days, False),
            (HOUR_POLICY, self._options.rollup_hour_days, False),
        ):
            statement = retention_policy(
                self._database, policy, days, exists=policy in existing, default=default
            )
            await self._query(statement, post=True)

    async def _ensure_rollups(self) -> None:
        """Create the rollup continuous queries, replacing one whose definition changed."""
        for name, policy, interval in ROLLUP_QUERIES:
            statement = rollup_query(self._database, name, policy, interval)
            try:
                await self._query(statement, post=True)
            except TimeSeriesError as exc:
                if "already exists" not in str(exc):
                    raise
                await self._query(drop_query(self._database, name), post=True)
                await self._query(statement, post=True)

    # Internals ----------------------------------------------------------------------------

    def _require_client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise TimeSeriesError("store is not open", store=self._store)
        return self._client

    def _transport_error(self, action: str, exc: httpx.HTTPError) -> TimeSeriesError:
        return TimeSeriesError(f"{action} failed: {type(exc).__name__}: {exc}", store=self._store)

    async def _query(self, statement: str, *, post: bool = False) -> list[list[Any]]:
        """Run one InfluxQL statement; the rows of its (single) series, across chunks."""
        return [row for series in await self._answers(statement, post=post) for row in series.rows]

    async def _answers(self, statements: str, *, post: bool = False) -> list[_Series]:
        """Run InfluxQL statements (``;``-separated); every series of their answers, in order.

        POST carries long statements in the body; InfluxDB runs a SELECT sent by POST as well.
        """
        client = self._require_client()
        params = {"db": self._database, "q": statements, "epoch": "u", "chunked": "true"}
        try:
            if post:
                response = await client.post("/query", data=params)
            else:
                response = await client.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise self._transport_error("query", exc) from exc
        if not response.is_success:
            raise TimeSeriesError(
                f"query refused ({response.status_code}): {_error_text(response)}",
                store=self._store,
            )
        answer: list[_Series] = []
        # chunked=true: one JSON document per line, and no server-side row limit truncation.
        for line in response.text.splitlines():
            if not line.strip():
                continue
            document = json.loads(line)
            if "error" in document:
                raise TimeSeriesError(f"query failed: {document['error']}", store=self._store)
            for result in document.get("results", ()):
                if "error" in result:
                    raise TimeSeriesError(f"query failed: {result['error']}", store=self._store)
                statement = int(result.get("statement_id", 0))
                answer.extend(
                    _Series(
                        statement,
                        dict(series.get("tags") or {}),
                        list(series.get("columns", [])),
                        series.get("values", []),
                    )
                    for series in result.get("series", ())
                )
        return answer


def _error_text(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(document, dict) and "error" in document:
        return str(document["error"])
    return response.text.strip()
