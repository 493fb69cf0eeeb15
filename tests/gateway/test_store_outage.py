"""A real InfluxDB stopped for 30 s mid-stream: nothing is lost, and writing resumes within 2 s
of its return (measured on the writer's own recovery timestamp, not on sleeps)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.settings import Settings
from gateway.decode import Reading
from gateway.stats import GatewayStats
from gateway.writer import TelemetryWriter
from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.options import StoreOptions
from tests.gateway.waiting import until
from tests.servers.influxdb import POLL_INTERVAL_S, restarted, running_influxdb

pytestmark = pytest.mark.integration

OUTAGE_S = 30.0
RECOVERY_LIMIT_S = 2.0
READING_EVERY_S = 0.02
START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DEVICE, METRIC = "shed-1", "temp_c"
# Generous for two influxd start-ups on a loaded machine on top of the outage itself.
TEST_TIMEOUT_S = 180


class Stream:
    """Adds one reading to the writer every READING_EVERY_S until stopped; ts = START + i s."""

    def __init__(self, writer: TelemetryWriter) -> None:
        self.writer = writer
        self.sent = 0
        self.running = True

    async def run(self) -> None:
        while self.running:
            ts = (START + timedelta(seconds=self.sent)).timestamp()
            assert self.writer.add(Reading(DEVICE, ts, self.sent, {METRIC: float(self.sent)}))
            self.sent += 1
            await asyncio.sleep(READING_EVERY_S)


@pytest.mark.timeout(TEST_TIMEOUT_S)
async def test_a_30s_influxdb_outage_loses_nothing_and_writing_resumes_within_2s(
    tmp_path: Path,
) -> None:
    settings = Settings(tsdb_flush_interval_s=0.1)
    with running_influxdb(tmp_path / "influxdb") as server:
        # The readings are stamped in 2025: a retention that keeps them (InfluxDB measures it
        # back from the wall clock, and the adapter leaves out what it would drop).
        store = InfluxV1TimeSeries(
            server.url("outage"), options=StoreOptions(retention_days=36_500)
        )
        await store.open()
        stats = GatewayStats()
        writer = TelemetryWriter.from_settings(settings, store=store, stats=stats)
        stream = Stream(writer)
        writing = asyncio.create_task(writer.run(), name="writer")
        streaming = asyncio.create_task(stream.run(), name="stream")
        back = server
        try:
            await until(lambda: stats.points_written >= 20, "the stream to reach the store")
            await asyncio.to_thread(server.stop)
            await until(lambda: writer.failing_since is not None, "writes to fail")
            await asyncio.sleep(OUTAGE_S)  # the outage itself, while readings keep coming
            back = await asyncio.to_thread(restarted, server)
            back_at = asyncio.get_running_loop().time()  # it answered /ping at most a poll ago
            await until(lambda: stats.write_recoveries == 1, "the first write after the outage")
            assert writer.last_recovery_at is not None
            assert writer.last_recovery_at - back_at < RECOVERY_LIMIT_S - POLL_INTERVAL_S
            assert stats.pending_points < stream.sent

            stream.running = False
            await streaming
            writer.close()
            await writing
            assert (stats.points_written, stats.points_dropped) == (stream.sent, 0)
            assert stream.sent > OUTAGE_S / READING_EVERY_S / 2  # the outage was mid-stream
            samples = await store.read(
                device_id=DEVICE,
                metric=METRIC,
                start=START,
                end=START + timedelta(seconds=stream.sent),
            )
            assert [s.value for s in samples] == [float(i) for i in range(stream.sent)]
        finally:
            stream.running = False
            writer.close()
            await asyncio.gather(writing, streaming, return_exceptions=True)
            await store.close()
            await asyncio.to_thread(back.stop)
