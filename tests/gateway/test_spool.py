"""The point spool: while the store is down, points go to a local file and their QoS 1 messages
are acknowledged; the file empties once the store has them, and a restart writes what it holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.settings import Settings
from gateway.acks import Receipt
from gateway.decode import Reading
from gateway.spool import PointSpool
from gateway.stats import GatewayStats
from gateway.writer import TelemetryWriter
from storage.tsdb.port import Point
from tests.gateway.fakes import MemoryStore
from tests.gateway.waiting import until

SETTINGS = Settings(
    tsdb_flush_interval_s=0.01,
    tsdb_ack_flush_interval_s=0.01,
    tsdb_probe_interval_s=0.02,
    reconnect_initial_s=0.02,
    tsdb_retry_max_s=0.05,
    tsdb_shutdown_grace_s=0.1,
)


def reading(n: int) -> Reading:
    return Reading("shed-1", 1_700_000_000.0 + n / 3, n, {"temp_c": n + 0.1, "smoke": n % 2 == 0})


def test_points_read_back_exactly_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    spool = PointSpool(tmp_path / "spool" / "gw.points")
    points = [Point("shed-1", "temp_c", 1_700_000_000.1 + i / 7, 0.1 * i) for i in range(50)]
    assert spool.append(points) == 50
    with spool.path.open("a") as file:
        file.write("shed-1\ttemp_c\t17000")  # a crash in the middle of an append
    assert spool.load() == points
    spool.clear()
    assert spool.load() == [] and spool.path.read_text() == ""


async def test_messages_are_acknowledged_from_the_spool_while_the_store_is_down(
    tmp_path: Path,
) -> None:
    store, stats = MemoryStore(), GatewayStats()
    spool = PointSpool(tmp_path / "gw.points")
    writer = TelemetryWriter.from_settings(SETTINGS, store=store, stats=stats, spool=spool)
    acked: list[int] = []
    running = asyncio.create_task(writer.run())
    try:
        store.down = True
        for n in range(30):
            receipt = Receipt(lambda n=n: acked.append(n))
            writer.add(reading(n), receipt)
            receipt.release()  # the message's own handling is done
        await until(lambda: len(acked) == 30, "every message acknowledged from the spool")
        assert store.points == [] and stats.points_spooled == 60
        assert len(spool.load()) == 60
        await writer.written_through(writer.appended)  # a checkpoint may go ahead now

        store.down = False
        await until(lambda: len(store.points) == 60, "the spooled points in the store")
        await until(lambda: spool.load() == [], "the spool emptied once the store has it all")
    finally:
        writer.close()
        await running
    assert stats.points_dropped == 0


async def test_a_gateway_stopped_during_an_outage_writes_its_spool_on_the_next_start(
    tmp_path: Path,
) -> None:
    store, spool = MemoryStore(), PointSpool(tmp_path / "gw.points")
    store.down = True
    first_stats = GatewayStats()
    first = TelemetryWriter.from_settings(SETTINGS, store=store, stats=first_stats, spool=spool)
    running = asyncio.create_task(first.run())
    for n in range(10):
        first.add(reading(n))
    await until(lambda: first_stats.points_spooled == 20, "the points spooled")
    first.close()  # shutdown gives up on the store past its grace
    await running
    assert first_stats.points_dropped == 0  # nothing lost: it waits in the spool

    store.down = False
    second_stats = GatewayStats()
    second = TelemetryWriter.from_settings(SETTINGS, store=store, stats=second_stats, spool=spool)
    assert second.pending == 20
    running = asyncio.create_task(second.run())
    await until(lambda: len(store.points) == 20, "the spool written on start")
    second.close()
    await running
    assert spool.load() == []
    assert Point("shed-1", "temp_c", reading(3).ts, 3.1) in store.points


async def test_without_a_spool_messages_wait_for_the_store(tmp_path: Path) -> None:
    store, stats = MemoryStore(), GatewayStats()
    writer = TelemetryWriter.from_settings(SETTINGS, store=store, stats=stats)
    acked: list[int] = []
    running = asyncio.create_task(writer.run())
    try:
        store.down = True
        receipt = Receipt(lambda: acked.append(1))
        writer.add(reading(0), receipt)
        receipt.release()
        await until(lambda: stats.write_errors >= 3, "several failed writes")
        assert acked == []
        store.down = False
        await until(lambda: acked == [1], "the acknowledgement once written")
    finally:
        writer.close()
        await running
