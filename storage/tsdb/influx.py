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
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from storage.tsdb.port import Aggregate, Point, Sample, TimeSeriesError
from storage.tsdb.window import ReadWindow, read_window, us_to_datetime

MEASUREMENT = "telemetry"
DEVICE_TAG = "device_id"
DEFAULT_PORT = 8086
#: Field keys InfluxDB refuses or that would collide with the tag.
RESERVED_METRICS = frozenset({"time", DEVICE_TAG})
#: Escaped names are cached; the fleet bounds them, this bounds a caller that does not.
NAME_CACHE_LIMIT = 100_000
# InfluxDB's representable range (models.MinNanoTime/MaxNanoTime); windows are clamped to it.
_MIN_NS = -(2**63) + 2
_MAX_NS = 2**63 - 2
_NS_PER_US = 1_000

_SCHEMES = {"influxdb": "http", "influxdbs": "https"}
_FUNCTIONS = {
    Aggregate.MEAN: "MEAN",
    Aggregate.MIN: "MIN",
    Aggregate.MAX: "MAX",
    Aggregate.SUM: "SUM",
    Aggregate.COUNT: "COUNT",
    Aggregate.LAST: "LAST",
}
_VALUE = attrgetter("value")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


def _identifier(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _literal(value: str) -> str:
    """An InfluxQL single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


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
                await self._query(f"CREATE DATABASE {_identifier(self._database)}", post=True)
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
        rows = await self._query(_select(device_id, metric, window))
        if window.aggregate is not None and window.every_us is None:
            # One sample for the whole window, stamped with its start (as SQLite does);
            # InfluxDB would stamp selectors (min, max, last) with the chosen point's time.
            return [Sample(us_to_datetime(window.start_us), float(value)) for _, value in rows]
        return [Sample(us_to_datetime(int(ts)), float(value)) for ts, value in rows]

    # Internals ----------------------------------------------------------------------------

    def _require_client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise TimeSeriesError("store is not open", store=self._store)
        return self._client

    def _transport_error(self, action: str, exc: httpx.HTTPError) -> TimeSeriesError:
        return TimeSeriesError(f"{action} failed: {type(exc).__name__}: {exc}", store=self._store)

    async def _query(self, statement: str, *, post: bool = False) -> list[list[Any]]:
        """Run one InfluxQL statement; the rows of its (single) series, across chunks."""
        client = self._require_client()
        params = {"db": self._database, "q": statement, "epoch": "u", "chunked": "true"}
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
        rows: list[list[Any]] = []
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
                for series in result.get("series", ()):
                    rows.extend(series.get("values", ()))
        return rows


def _select(device_id: str, metric: str, window: ReadWindow) -> str:
    start_ns = max(_MIN_NS, min(_MAX_NS, window.start_us * _NS_PER_US))
    end_ns = max(_MIN_NS, min(_MAX_NS, window.end_us * _NS_PER_US))
    field = _identifier(metric)
    where = (
        f"WHERE {_identifier(DEVICE_TAG)} = {_literal(device_id)} "
        f"AND time >= {start_ns} AND time < {end_ns}"
    )
    source = f"FROM {_identifier(MEASUREMENT)} {where}"
    if window.aggregate is None:
        return f"SELECT {field} {source}"
    selected = f"SELECT {_FUNCTIONS[window.aggregate]}({field}) {source}"
    if window.every_us is None:
        return selected
    # InfluxDB aligns time buckets to the epoch: bucket = floor(ts / every) * every.
    return f"{selected} GROUP BY time({window.every_us}u) fill(none)"


def _error_text(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(document, dict) and "error" in document:
        return str(document["error"])
    return response.text.strip()
