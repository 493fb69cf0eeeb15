"""InfluxQL statements of the InfluxDB adapter, built with quoted identifiers and literals.

Reads name the retention policy of raw points and match every measurement (``/.*/``): a
device's facility type is its measurement, and reads need not know it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.tsdb.influx_lines import DEVICE_TAG
from storage.tsdb.port import Aggregate
from storage.tsdb.window import ReadWindow

#: Retention policies the adapter manages: raw points (the database default) and two rollups.
RAW_POLICY = "fm_raw"
MINUTE_POLICY = "fm_rollup_1m"
HOUR_POLICY = "fm_rollup_1h"
#: Continuous queries: name, target policy, GROUP BY time interval.
ROLLUP_QUERIES = (
    ("fm_rollup_1m", MINUTE_POLICY, "1m"),
    ("fm_rollup_1h", HOUR_POLICY, "1h"),
)
# InfluxDB's representable range (models.MinNanoTime/MaxNanoTime); windows are clamped to it.
_MIN_NS = -(2**63) + 2
_MAX_NS = 2**63 - 2
_NS_PER_US = 1_000

#: Ids a regular expression can list without escaping (every id of the MQTT contract).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")

_FUNCTIONS = {
    Aggregate.MEAN: "MEAN",
    Aggregate.MIN: "MIN",
    Aggregate.MAX: "MAX",
    Aggregate.SUM: "SUM",
    Aggregate.COUNT: "COUNT",
    Aggregate.LAST: "LAST",
}


def identifier(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def literal(value: str) -> str:
    """An InfluxQL single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def measurements(policy: str | None) -> str:
    """Every measurement of ``policy`` (of the default policy when None)."""
    return "/.*/" if policy is None else f"{identifier(policy)}./.*/"


def _source(device_id: str, window: ReadWindow, policy: str | None) -> str:
    start_ns = max(_MIN_NS, min(_MAX_NS, window.start_us * _NS_PER_US))
    end_ns = max(_MIN_NS, min(_MAX_NS, window.end_us * _NS_PER_US))
    return (
        f"FROM {measurements(policy)} "
        f"WHERE {identifier(DEVICE_TAG)} = {literal(device_id)} "
        f"AND time >= {start_ns} AND time < {end_ns}"
    )


def _epoch_buckets(every_us: int) -> str:
    # InfluxDB aligns time buckets to the epoch: bucket = floor(ts / every) * every.
    return f"GROUP BY time({every_us}u) fill(none)"


def select(device_id: str, metric: str, window: ReadWindow, policy: str | None) -> str:
    """The raw points of one series, or one aggregate over the window or its buckets."""
    field = identifier(metric)
    source = _source(device_id, window, policy)
    if window.aggregate is None:
        return f"SELECT {field} {source}"
    selected = f"SELECT {_FUNCTIONS[window.aggregate]}({field}) {source}"
    if window.every_us is None:
        return selected
    return f"{selected} {_epoch_buckets(window.every_us)}"


def select_buckets(device_id: str, metric: str, window: ReadWindow, policy: str | None) -> str:
    """Mean, min, max and count of one series per bucket, in one statement.

    With several selectors in one statement InfluxDB stamps each row with its bucket's start,
    which is what a bucket's ``ts`` means.
    """
    if window.every_us is None:
        raise ValueError("bucketed reads need every_us")
    field = identifier(metric)
    reductions = ", ".join(f"{function}({field})" for function in ("MEAN", "MIN", "MAX", "COUNT"))
    source = _source(device_id, window, policy)
    return f"SELECT {reductions} {source} {_epoch_buckets(window.every_us)}"


def show_metrics() -> str:
    """The field keys (metrics) of every measurement."""
    return "SHOW FIELD KEYS"


def select_latest(metrics: Sequence[str], device_ids: Sequence[str], policy: str | None) -> str:
    """One statement per metric: its newest point for each of ``device_ids``, grouped by device.

    One selector per statement, so each row carries the time of the point it selected
    (``LAST(*)`` would stamp every field with one time).
    """
    return "; ".join(
        f"SELECT LAST({identifier(metric)}) FROM {measurements(policy)} "
        f"WHERE {_any_device(device_ids)} GROUP BY {identifier(DEVICE_TAG)}"
        for metric in metrics
    )


def retention_policy(
    database: str, policy: str, days: int, *, exists: bool, default: bool = False
) -> str:
    """Create a retention policy, or set the duration of an existing one (a changed setting)."""
    verb, replication = ("ALTER", "") if exists else ("CREATE", " REPLICATION 1")
    suffix = " DEFAULT" if default else ""
    return (
        f"{verb} RETENTION POLICY {identifier(policy)} ON {identifier(database)} "
        f"DURATION {days}d{replication}{suffix}"
    )


def show_policies(database: str) -> str:
    """The retention policies of ``database``."""
    return f"SHOW RETENTION POLICIES ON {identifier(database)}"


def rollup_query(database: str, name: str, policy: str, interval: str) -> str:
    """A continuous query folding raw points into ``policy``: mean, min, max and count of every
    metric (fields ``mean_<metric>`` …), per measurement and tag set, every ``interval``."""
    db = identifier(database)
    return (
        f"CREATE CONTINUOUS QUERY {identifier(name)} ON {db} BEGIN "
        f"SELECT mean(*), min(*), max(*), count(*) INTO {db}.{identifier(policy)}.:MEASUREMENT "
        f"FROM {db}.{identifier(RAW_POLICY)}./.*/ GROUP BY time({interval}), * END"
    )


def drop_query(database: str, name: str) -> str:
    """Drop a continuous query (to replace one whose definition changed)."""
    return f"DROP CONTINUOUS QUERY {identifier(name)} ON {identifier(database)}"


def _any_device(device_ids: Sequence[str]) -> str:
    """A condition matching any of ``device_ids``: one anchored regex when every id is plain
    (measured on InfluxDB 1.6: several times faster than a chain of ``OR``), else the chain."""
    tag = identifier(DEVICE_TAG)
    if all(_PLAIN_ID.fullmatch(device_id) for device_id in device_ids):
        return f"{tag} =~ /^(?:{'|'.join(device_ids)})$/"
    return "(" + " OR ".join(f"{tag} = {literal(device_id)}" for device_id in device_ids) + ")"
