"""`fm tsdb migrate` on both stores: the earlier layouts end up in the current one."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from fm.cli import main
from fm.tsdb_cli import migrate_store
from governance.loader import load_site
from tests.servers.influxdb import InfluxServer

T0_US = 1_740_009_600_000_000


def test_the_command_converts_a_single_table_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "telemetry.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE telemetry (device_id TEXT NOT NULL, metric TEXT NOT NULL,"
            " ts_us INTEGER NOT NULL, value REAL NOT NULL,"
            " PRIMARY KEY (device_id, metric, ts_us)) WITHOUT ROWID"
        )
        connection.execute("INSERT INTO telemetry VALUES ('d', 'm', ?, 1.5)", (T0_US,))
    connection.close()
    monkeypatch.setenv("FM_DATA_DIR", str(tmp_path))
    assert main(["tsdb", "migrate"]) == 0
    assert "chunked layout" in capsys.readouterr().out
    with sqlite3.connect(path) as connection:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        (count,) = connection.execute(
            f'SELECT count(*) FROM "raw_{T0_US // 86_400_000_000}"'
        ).fetchone()
    connection.close()
    assert "telemetry" not in names
    assert count == 1


@pytest.mark.integration
def test_the_command_moves_the_earlier_influxdb_layout(
    tmp_path: Path, influxdb_server: InfluxServer, influxdb_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, tsdb_url=influxdb_url)
    site = load_site(settings.site_file)
    device = sorted(d.id for d in site.devices.values() if d.type == "pipe")[0]
    database = influxdb_url.rsplit("/", 1)[1]
    now = int(time.time())
    influxdb_server.query(f'CREATE DATABASE "{database}"').raise_for_status()
    written = httpx.post(
        f"{influxdb_server.http_url}/write",
        params={"db": database, "precision": "s"},
        content=f"telemetry,device_id={device} flow_lpm=3.5,leak=0.0 {now - 30}",
    )
    assert written.status_code == httpx.codes.NO_CONTENT
    message = asyncio.run(migrate_store(settings, site, from_policy="autogen"))
    assert message.startswith("moved 2 points of 1 devices")
    answer = httpx.post(
        f"{influxdb_server.http_url}/query",
        data={"db": database, "q": f"SELECT flow_lpm, leak FROM pipe WHERE device_id = '{device}'"},
    ).json()
    assert answer["results"][0]["series"][0]["values"] == [[time_string(now - 30), 3.5, 0.0]]


def time_string(epoch_s: int) -> str:
    """InfluxDB's RFC 3339 rendering of a whole second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
