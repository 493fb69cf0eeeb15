"""Time-series store on InfluxDB through its v1 HTTP API (1.x, 2.x v1 compatibility, 3.x).

Layout: one measurement ``telemetry``, one tag ``device_id``, one float field per metric.
Readings of a device taken at the same instant share one point; rewriting a metric at the
same ``(device_id, ts)`` replaces that field only, which is "duplicate replaces" of the port.
Timestamps travel as integer microseconds (``precision=u``), the grid the SQLite adapter
uses too. Points are encoded with one specialised f-string each: no Point objects, no
per-point escaping (escaped series keys and field names are cached).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from storage.tsdb.influxql import (
    DEVICE_TAG,
    MEASUREMENT,
    identifier,
    select,
    select_buckets,
    select_latest,
    show_metrics,
)
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesError
from storage.tsdb.window import bucket_window, read_window, us_to_datetime

DEFAULT_PORT = 8086
#: Field keys InfluxDB refuses or that would collide with the tag.
RESERVED_METRICS = frozenset({"time", DEVICE_TAG})
#: Escaped names are cached; the fleet bounds them, this bounds a caller that does not.
NAME_CACHE_LIMIT = 100_000
#: Devices per ``latest`` request, so the statement stays a modest request body.
LATEST_CHUNK = 200

_SCHEMES = {"influxdb": "http", "influxdbs": "https"}
_VALUE = attrgetter("value")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class _Series:
    """One series of a query answer: which statement produced it, its tags and its rows."""

    statement: int
    tags: dict[str, str]
    rows: list[list[Any]]


class _EscapedNames(dict[str, str]):
    """``name -> encoded form``, computed (and validated) once per name."""

    __slots__ = ("_encode",)

    def __init__(self, encode: Callable[[str], str]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, name: str) -> str:
        if len(self) >= NAME_CACHE_LIMIT:
            self.clear()
        encoded = self[name] = self._encode(name)
        return encoded


def _escape_key(name: str) -> str:
    """Line protocol escaping for tag values and field keys: comma, equals sign, space."""
    if not name or "\n" in name or name.endswith("\\"):
        raise ValueError(f"{name!r} cannot be a tag value or field key in line protocol")
    return name.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def _series_key(device_id: str) -> str:
    return f"{MEASUREMENT},{DEVICE_TAG}={_escape_key(device_id)} "


def _field_key(metric: str) -> str:
    if metric in RESERVED_METRICS:
        raise ValueError(f"metric name {metric!r} is reserved in InfluxDB")
    return f"{_escape_key(metric)}="


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
    bucket with a DBRP mapping; set ``create_database=false`` where CREATE DATABASE is refused.
    """

    __slots__ = (
        "_auth",
        "_base_url",
        "_client",
        "_create_database",
        "_database",
        "_fields",
        "_series",
        "_store",
        "_timeout",
        "_transport",
    )

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(
                "InfluxDB URL must look like influxdb://user:pass@host:8086/<database>"
            )
        database = unquote(parts.path.strip("/"))
        if not database or "/" in database:
            raise ValueError(f"InfluxDB URL needs exactly one database name in its path: {url!r}")
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
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
        self._timeout = _timeout(options.get("timeout_s"))
        self._create_database = _flag(
            options.get("create_database", "true"), option="create_database"
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._series = _EscapedNames(_series_key)
        self._fields = _EscapedNames(_field_key)

    @property
    def store(self) -> str:
        """The server and database, without credentials (as errors report it)."""
        return self._store

    async def open(self) -> None:
        """Check the server answers and create the database (unless told not to); idempotent."""
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
        """Write one batch in one request; a non-finite value refuses the whole batch."""
        if not points:
            return
        client = self._require_client()
        body = self.encode(points)
        try:
            response = await client.post(
                "/write",
                params={"db": self._database, "precision": "u"},
                content=body,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error("write", exc) from exc
        if not response.is_success:
            raise TimeSeriesError(
                f"write refused ({response.status_code}): {_error_text(response)}",
                store=self._store,
            )

    def encode(self, points: Sequence[Point]) -> bytes:
        """Line protocol for ``points`` (public for the benchmark)."""
        if not all(map(math.isfinite, map(_VALUE, points))):
            raise TimeSeriesError("batch holds a non-finite value", store=self._store)
        series, fields = self._series, self._fields
        try:
            # `+ 0.0` turns bools and ints into floats, so every field stays a float field.
            lines = [
                f"{series[p.device_id]}{fields[p.metric]}{p.value + 0.0!r} "
                f"{int(p.ts * 1_000_000.0 + 0.5)}"
                for p in points
            ]
        except (ValueError, OverflowError) as exc:
            raise TimeSeriesError(f"cannot encode batch: {exc}", store=self._store) from exc
        return "\n".join(lines).encode()

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
        rows = await self._query(select(device_id, metric, window))
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
        rows = await self._query(select_buckets(device_id, metric, window))
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
        metrics = [str(row[0]) for row in await self._query(show_metrics())]
        if not metrics:  # nothing written yet
            return {}
        latest: Latest = {}
        for first in range(0, len(wanted), LATEST_CHUNK):
            chunk = wanted[first : first + LATEST_CHUNK]
            for series in await self._answers(select_latest(metrics, chunk), post=True):
                metric = metrics[series.statement]
                device = latest.setdefault(series.tags[DEVICE_TAG], {})
                for ts, value in series.rows:
                    device[metric] = Sample(us_to_datetime(int(ts)), float(value))
        return latest

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
                    _Series(statement, dict(series.get("tags") or {}), series.get("values", []))
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
