"""InfluxDB adapter specifics: URL handling, line protocol, errors, layout on a real server."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.port import Point, Sample, TimeSeriesError
from tests.servers.influxdb import InfluxServer, running_influxdb
from tests.servers.ports import free_port
from tests.storage.conftest import LONG_RETENTION

T0 = 1_740_000_000.0
START = datetime.fromtimestamp(T0, UTC)
END = START + timedelta(hours=1)


# Unit tests: no server -----------------------------------------------------------------------


def test_line_protocol_escapes_tag_values_and_field_keys() -> None:
    store = InfluxV1TimeSeries("influxdb://127.0.0.1/fm")
    body = store.encode(
        [
            Point("light-1", "current_a", T0 + 0.25, 0.5),
            Point("a b,c=d", "x y,z=w", T0, True),
            Point('q"uote', "it's", T0, 3),
        ]
    )
    assert body.decode().split("\n") == [
        "telemetry,device_id=light-1 current_a=0.5 1740000000250000",
        r"telemetry,device_id=a\ b\,c\=d x\ y\,z\=w=1.0 1740000000000000",
        "telemetry,device_id=q\"uote it's=3.0 1740000000000000",
    ]


@pytest.mark.parametrize(
    ("device_id", "metric"),
    [("", "m"), ("d", "time"), ("d", "device_id"), ("line\nbreak", "m"), ("d", "trailing\\")],
)
def test_names_line_protocol_cannot_carry_are_refused(device_id: str, metric: str) -> None:
    store = InfluxV1TimeSeries("influxdb://127.0.0.1/fm")
    with pytest.raises(TimeSeriesError, match="cannot encode"):
        store.encode([Point(device_id, metric, T0, 1.0)])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8086/fm",
        "influxdb:///fm",
        "influxdb://127.0.0.1:8086/",
        "influxdb://127.0.0.1:8086/a/b",
        "influxdb://127.0.0.1/fm?timeout_s=0",
        "influxdb://127.0.0.1/fm?timeout_s=soon",
        "influxdb://127.0.0.1/fm?create_database=maybe",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        InfluxV1TimeSeries(url)


def test_store_description_has_scheme_host_default_port_and_no_credentials() -> None:
    assert InfluxV1TimeSeries("influxdbs://u:p%40ss@db.example/fm").store == (
        "https://db.example:8086/fm"
    )
    assert InfluxV1TimeSeries("influxdb://[::1]:9999/fm").store == "http://[::1]:9999/fm"


async def test_basic_auth_from_url_and_errors_without_password() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/ping":
            return httpx.Response(204)
        if request.url.path == "/query":
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        return httpx.Response(401, json={"error": "authorization failed"})

    store = InfluxV1TimeSeries(
        "influxdb://fm%20user:p%40ss@influx.test:8086/fm",
        transport=httpx.MockTransport(answer),
        options=LONG_RETENTION,
    )
    await store.open()
    try:
        with pytest.raises(TimeSeriesError, match=r"401.*authorization failed") as caught:
            await store.write([Point("d", "m", T0, 1.0)])
    finally:
        await store.close()
    expected = "Basic " + base64.b64encode(b"fm user:p@ss").decode()
    assert {r.headers["authorization"] for r in seen} == {expected}
    assert "p@ss" not in str(caught.value)
    assert caught.value.store == "http://influx.test:8086/fm"
    create = next(r for r in seen if r.url.path == "/query")
    assert create.method == "POST"
    assert b"CREATE+DATABASE" in create.content


async def test_chunked_query_answers_are_merged_and_errors_raised() -> None:
    chunks = [
        {
            "results": [
                {"statement_id": 0, "series": [{"values": [[1_000_000, 1.0]]}], "partial": True}
            ]
        },
        {"results": [{"statement_id": 0, "series": [{"values": [[2_000_000, 2.0]]}]}]},
    ]
    answers = iter(
        [
            httpx.Response(200, text="\n".join(json.dumps(c) for c in chunks) + "\n"),
            httpx.Response(
                200, json={"results": [{"statement_id": 0, "error": "database not found: fm"}]}
            ),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204) if request.url.path == "/ping" else next(answers)

    store = InfluxV1TimeSeries(
        "influxdb://influx.test/fm?create_database=false", transport=httpx.MockTransport(answer)
    )
    await store.open()
    try:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        got = await store.read(device_id="d", metric="m", start=epoch, end=END)
        assert got == [
            Sample(epoch + timedelta(seconds=1), 1.0),
            Sample(epoch + timedelta(seconds=2), 2.0),
        ]
        with pytest.raises(TimeSeriesError, match="database not found"):
            await store.read(device_id="d", metric="m", start=epoch, end=END)
    finally:
        await store.close()


# Integration: a real influxd -------------------------------------------------------------------


@pytest.mark.integration
async def test_a_device_the_site_does_not_know_goes_to_telemetry_tagged_by_device(
    influxdb_server: InfluxServer, influxdb_url: str
) -> None:
    store = InfluxV1TimeSeries(influxdb_url, options=LONG_RETENTION)
    await store.open()
    try:
        await store.write(
            [Point("pipe-1", "pressure_kpa", T0, 300.0), Point("pipe-1", "flow_lpm", T0, 5.0)]
        )
    finally:
        await store.close()
    database = influxdb_url.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=influxdb_server.http_url) as client:
        response = await client.get(
            "/query", params={"db": database, "q": 'SELECT * FROM "telemetry"', "epoch": "s"}
        )
    series = response.json()["results"][0]["series"]
    assert series == [
        {
            "name": "telemetry",
            "columns": ["time", "device_id", "flow_lpm", "pressure_kpa"],
            "values": [[int(T0), "pipe-1", 5.0, 300.0]],
        }
    ]


@pytest.mark.integration
async def test_nothing_listening_raises_time_series_error() -> None:
    store = InfluxV1TimeSeries(f"influxdb://fm:hunter2@127.0.0.1:{free_port()}/fm")
    with pytest.raises(TimeSeriesError, match="does not answer") as caught:
        await store.open()
    assert "hunter2" not in str(caught.value)
    assert await store.ping() is False


@pytest.mark.integration
async def test_a_stopped_server_raises_time_series_error(tmp_path: Path) -> None:
    with running_influxdb(tmp_path / "influxdb") as server:
        store = InfluxV1TimeSeries(server.url("fm"), options=LONG_RETENTION)
        await store.open()
        try:
            await store.write([Point("d", "m", T0, 1.0)])
            assert await store.read(device_id="d", metric="m", start=START, end=END) == [
                Sample(START, 1.0)
            ]
            server.stop()
            assert await store.ping() is False
            with pytest.raises(TimeSeriesError, match="write failed: ConnectError") as caught:
                await store.write([Point("d", "m", T0 + 1, 2.0)])
            assert isinstance(caught.value.__cause__, httpx.ConnectError)
            with pytest.raises(TimeSeriesError, match="query failed"):
                await store.read(device_id="d", metric="m", start=START, end=END)
        finally:
            await store.close()


@pytest.mark.integration
async def test_missing_database_is_reported_when_not_created(influxdb_url: str) -> None:
    store = InfluxV1TimeSeries(f"{influxdb_url}?create_database=false")
    await store.open()
    try:
        with pytest.raises(TimeSeriesError, match="database not found"):
            await store.write([Point("d", "m", T0, 1.0)])
        with pytest.raises(TimeSeriesError, match="database not found"):
            await store.read(device_id="d", metric="m", start=START, end=END)
    finally:
        await store.close()
