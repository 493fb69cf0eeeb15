"""The InfluxDB layout users expect: a line per reading, a measurement per facility type, place
tags, retention policies and rollup queries from the options, and the earlier layout migrated."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.influx_migrate import migrate_legacy_layout
from storage.tsdb.options import SeriesTags, StoreOptions
from storage.tsdb.port import Point, Sample
from tests.servers.influxdb import InfluxServer

T0 = 1_740_000_000.0
TAGS = {
    f"light-{n}": SeriesTags("corridor_light", f"b{n}", f"g{n % 2}", "c1") for n in range(4)
} | {"pipe-1": SeriesTags("pipe", "b1", "g1", "c1")}


def test_a_reading_becomes_one_line_with_its_place_tags() -> None:
    store = InfluxV1TimeSeries("influxdb://127.0.0.1/fm", tags=TAGS)
    body = store.encode(
        [
            Point("light-1", "current_a", T0, 0.5),
            Point("light-1", "lamp_on", T0, True),
            Point("light-1", "current_a", T0, 0.75),  # a repeated metric: the later value
            Point("light-1", "lux", T0 + 1, 2),
            Point("stranger", "lux", T0 + 1, 3.5),
        ]
    )
    assert body.decode().split("\n") == [
        "corridor_light,building_id=b1,community_id=c1,device_id=light-1,grid_id=g1 "
        "current_a=0.75,lamp_on=1.0 1740000000000000",
        "corridor_light,building_id=b1,community_id=c1,device_id=light-1,grid_id=g1 "
        "lux=2.0 1740000001000000",
        "telemetry,device_id=stranger lux=3.5 1740000001000000",
    ]


async def _query(server: InfluxServer, database: str, statement: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post("/query", data={"db": database, "q": statement, "epoch": "s"})
    response.raise_for_status()
    result = response.json()["results"][0]
    assert "error" not in result, result
    series: list[dict[str, Any]] = result.get("series", [])
    return series


@pytest.mark.integration
async def test_a_plain_influxql_query_groups_by_grid_without_device_ids(
    influxdb_server: InfluxServer, influxdb_url: str
) -> None:
    now = float(int(time.time()))
    store = InfluxV1TimeSeries(influxdb_url, tags=TAGS)
    await store.open()
    try:
        await store.write(
            [
                point
                for n in range(4)
                for point in (
                    Point(f"light-{n}", "current_a", now - 60, float(n)),
                    Point(f"light-{n}", "lamp_on", now - 60, True),
                )
            ]
            + [Point("pipe-1", "flow_lpm", now - 60, 12.0)]
        )
        # Reads through the port still find every series, whatever its measurement.
        start = datetime.fromtimestamp(now - 3600, UTC)
        end = start + timedelta(hours=2)
        assert await store.read(device_id="light-3", metric="current_a", start=start, end=end) == [
            Sample(datetime.fromtimestamp(now - 60, UTC), 3.0)
        ]
        (bucket,) = await store.read_buckets(
            device_id="pipe-1", metric="flow_lpm", start=start, end=end, every_s=3600
        )
        assert (bucket.mean, bucket.count) == (12.0, 1)
        latest = await store.latest(["light-2", "pipe-1"])
        assert set(latest["light-2"]) == {"current_a", "lamp_on"}
        assert latest["pipe-1"]["flow_lpm"].value == 12.0
    finally:
        await store.close()
    database = influxdb_url.rsplit("/", 1)[1]
    series = await _query(
        influxdb_server,
        database,
        "SELECT mean(current_a), count(lamp_on) FROM corridor_light "
        "WHERE time > now() - 1d GROUP BY grid_id",
    )
    by_grid = {s["tags"]["grid_id"]: s["values"][0][1:] for s in series}
    assert by_grid == {"g0": [1.0, 2], "g1": [2.0, 2]}  # g0: lights 0 and 2, g1: 1 and 3
    measurements = await _query(influxdb_server, database, "SHOW MEASUREMENTS")
    assert measurements[0]["values"] == [["corridor_light"], ["pipe"]]


@pytest.mark.integration
async def test_retention_policies_and_rollup_queries_follow_the_options(
    influxdb_server: InfluxServer, influxdb_url: str
) -> None:
    database = influxdb_url.rsplit("/", 1)[1]
    for retention_days in (30, 7):  # reopening with another setting changes the duration
        options = StoreOptions(
            retention_days=retention_days, rollup_minute_days=90, rollup_hour_days=730
        )
        store = InfluxV1TimeSeries(influxdb_url, options=options)
        await store.open()
        await store.close()
    (policies,) = await _query(
        influxdb_server, database, f'SHOW RETENTION POLICIES ON "{database}"'
    )
    durations = {row[0]: (row[1], row[4]) for row in policies["values"]}
    assert {name: durations[name] for name in ("fm_raw", "fm_rollup_1m", "fm_rollup_1h")} == {
        "fm_raw": ("168h0m0s", True),
        "fm_rollup_1m": ("2160h0m0s", False),
        "fm_rollup_1h": ("17520h0m0s", False),
    }
    queries = await _query(influxdb_server, database, "SHOW CONTINUOUS QUERIES")
    mine = next(s for s in queries if s["name"] == database)
    assert sorted(row[0] for row in mine["values"]) == ["fm_rollup_1h", "fm_rollup_1m"]
    assert all("GROUP BY time(" in row[1] for row in mine["values"])


@pytest.mark.integration
async def test_points_older_than_the_retention_are_left_out_not_refused(
    influxdb_url: str,
) -> None:
    now = float(int(time.time()))
    store = InfluxV1TimeSeries(influxdb_url, options=StoreOptions(retention_days=1), tags=TAGS)
    await store.open()
    try:
        await store.write(
            [
                Point("pipe-1", "flow_lpm", now - 2 * 86_400, 1.0),
                Point("pipe-1", "flow_lpm", now, 2.0),
            ]
        )
        got = await store.read(
            device_id="pipe-1",
            metric="flow_lpm",
            start=datetime.fromtimestamp(now - 3 * 86_400, UTC),
            end=datetime.fromtimestamp(now + 1, UTC),
        )
        assert [s.value for s in got] == [2.0]
    finally:
        await store.close()


@pytest.mark.integration
async def test_the_earlier_layout_is_migrated_once(
    influxdb_server: InfluxServer, influxdb_url: str
) -> None:
    database = influxdb_url.rsplit("/", 1)[1]
    now = int(time.time())
    # What the earlier adapter wrote: measurement telemetry, tag device_id, default policy.
    await _query(influxdb_server, database, f'CREATE DATABASE "{database}"')
    old_lines = "\n".join(
        [
            f"telemetry,device_id=light-1 current_a=0.5,lamp_on=1.0 {now - 120}",
            f"telemetry,device_id=light-1 current_a=0.25 {now - 60}",
            f"telemetry,device_id=pipe-1 flow_lpm=9.0 {now - 60}",
            f"telemetry,device_id=stranger lux=1.0 {now - 60}",
        ]
    )
    async with httpx.AsyncClient(base_url=influxdb_server.http_url) as client:
        written = await client.post(
            "/write", params={"db": database, "precision": "s"}, content=old_lines
        )
    assert written.status_code == httpx.codes.NO_CONTENT
    store = InfluxV1TimeSeries(influxdb_url, tags=TAGS)
    await store.open()
    try:
        report = await migrate_legacy_layout(store, TAGS, retention_days=30)
        assert (report.devices, report.points) == (2, 4)
        again = await migrate_legacy_layout(store, TAGS, retention_days=30)
        assert (again.devices, again.points) == (0, 0)
    finally:
        await store.close()
    moved = await _query(
        influxdb_server,
        database,
        "SELECT current_a, lamp_on, grid_id FROM corridor_light WHERE device_id = 'light-1'",
    )
    assert moved[0]["values"] == [[now - 120, 0.5, 1.0, "g1"], [now - 60, 0.25, None, "g1"]]
    left = await _query(
        influxdb_server, database, 'SELECT lux, device_id FROM "autogen"."telemetry"'
    )
    assert left[0]["values"] == [[now - 60, 1.0, "stranger"]]  # the site does not know it
