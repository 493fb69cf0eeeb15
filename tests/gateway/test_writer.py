"""Batched telemetry writes against an in-memory store: batching, retry, bounds, drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.acks import Receipt
from gateway.decode import Reading
from gateway.stats import GatewayStats
from gateway.writer import TelemetryWriter
from storage.tsdb.port import Point
from tests.gateway.fakes import MemoryStore
from tests.gateway.waiting import DEADLINE_S, until

T0 = 1_700_000_000.0
LONG_S = 60.0  # an interval no test waits for


def reading(i: int, **metrics: float | bool) -> Reading:
    return Reading("light-1", T0 + i, None, metrics or {"current_a": float(i)})


class Harness:
    def __init__(self, **options: float) -> None:
        self.store = MemoryStore()
        self.stats = GatewayStats()
        settings: dict[str, float] = {
            "batch_size": 3,
            "flush_interval_s": LONG_S,
            "queue_max": 100,
            "retry_initial_s": 0.01,
            "retry_max_s": 0.05,
            "probe_interval_s": 0.01,
            "shutdown_grace_s": 0.2,
            "ack_flush_interval_s": LONG_S,
        }
        settings.update(options)
        self.writer = TelemetryWriter(
            store=self.store,
            stats=self.stats,
            batch_size=int(settings["batch_size"]),
            flush_interval_s=settings["flush_interval_s"],
            queue_max=int(settings["queue_max"]),
            retry_initial_s=settings["retry_initial_s"],
            retry_max_s=settings["retry_max_s"],
            probe_interval_s=settings["probe_interval_s"],
            shutdown_grace_s=settings["shutdown_grace_s"],
            ack_flush_interval_s=settings["ack_flush_interval_s"],
        )
        self.task: asyncio.Task[None] | None = None


@pytest.fixture
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    options = getattr(request, "param", {})
    h = Harness(**options)
    h.task = asyncio.create_task(h.writer.run(), name="writer-under-test")
    try:
        yield h
    finally:
        h.writer.close()
        await asyncio.wait_for(h.task, DEADLINE_S)


async def test_a_full_batch_is_written_without_waiting_for_the_interval(harness: Harness) -> None:
    harness.writer.add(reading(0, lamp_on=True, current_a=0.4))
    assert harness.store.points == []
    harness.writer.add(reading(1, lamp_on=False))
    await until(lambda: harness.stats.points_written == 3, "the full batch")
    assert harness.store.points == [
        Point("light-1", "lamp_on", T0, 1.0),
        Point("light-1", "current_a", T0, 0.4),
        Point("light-1", "lamp_on", T0 + 1, 0.0),
    ]


@pytest.mark.parametrize("harness", [{"batch_size": 1000, "flush_interval_s": 0.02}], indirect=True)
async def test_a_partial_batch_is_written_after_the_flush_interval(harness: Harness) -> None:
    harness.writer.add(reading(0))
    await until(lambda: harness.stats.points_written == 1, "the interval flush")
    assert harness.store.batches == [1]


async def test_failed_writes_keep_the_batch_and_retry_with_backoff(harness: Harness) -> None:
    harness.store.fail_next = 3
    for i in range(3):
        harness.writer.add(reading(i))
    await until(lambda: harness.stats.points_written == 3, "the retried batch")
    assert harness.stats.write_errors == 3
    assert harness.store.attempts == 4
    assert [p.ts for p in harness.store.points] == [T0, T0 + 1, T0 + 2]
    assert harness.stats.points_dropped == 0


@pytest.mark.parametrize("harness", [{"queue_max": 4, "batch_size": 10}], indirect=True)
async def test_a_full_queue_drops_and_counts_new_points(harness: Harness) -> None:
    for i in range(6):
        harness.writer.add(reading(i))
    assert harness.writer.pending == 4
    assert harness.stats.points_dropped == 2
    assert not harness.writer.add(reading(7, lamp_on=True))
    assert harness.stats.points_dropped == 3


@pytest.mark.parametrize("harness", [{"batch_size": 2}], indirect=True)
async def test_close_drains_everything_pending(harness: Harness) -> None:
    for i in range(5):
        harness.writer.add(reading(i))
    harness.writer.close()
    assert harness.task is not None
    await asyncio.wait_for(harness.task, DEADLINE_S)
    assert len(harness.store.points) == 5
    assert harness.stats.pending_points == 0


@pytest.mark.parametrize("harness", [{"batch_size": 100}], indirect=True)
async def test_a_dead_store_at_shutdown_gives_up_after_the_deadline_and_counts_the_loss(
    harness: Harness,
) -> None:
    harness.store.fail_next = 1_000_000
    for i in range(4):
        harness.writer.add(reading(i))
    harness.writer.close()
    assert harness.task is not None
    await asyncio.wait_for(harness.task, DEADLINE_S)
    assert harness.stats.points_dropped == 4
    assert harness.stats.write_errors >= 1


@pytest.mark.parametrize(
    "harness", [{"retry_initial_s": LONG_S, "retry_max_s": LONG_S}], indirect=True
)
async def test_writing_resumes_as_soon_as_a_down_store_answers_a_probe(harness: Harness) -> None:
    harness.store.down = True
    for i in range(3):
        harness.writer.add(reading(i))
    await until(lambda: harness.stats.write_errors == 1, "the failed write")
    assert harness.writer.failing_since is not None
    await until(lambda: harness.store.pings >= 3, "the writer to probe the store")
    harness.store.down = False
    # The backoff is a minute long: only the probe can bring the write back this soon.
    await until(lambda: harness.stats.points_written == 3, "the write after the store's return")
    assert harness.stats.write_errors == 1
    assert (harness.stats.write_recoveries, harness.stats.writes) == (1, 1)
    assert harness.writer.failing_since is None
    assert harness.writer.last_recovery_at is not None


@pytest.mark.parametrize(
    "harness",
    [{"retry_initial_s": LONG_S, "retry_max_s": LONG_S, "shutdown_grace_s": 0.3}],
    indirect=True,
)
async def test_shutdown_never_waits_out_a_backoff(harness: Harness) -> None:
    harness.store.down = True
    for i in range(3):
        harness.writer.add(reading(i))
    await until(lambda: harness.stats.write_errors == 1, "the failed write")
    harness.writer.close()
    assert harness.task is not None
    # DEADLINE_S is far shorter than the minute-long backoff the writer was sleeping in.
    await asyncio.wait_for(harness.task, DEADLINE_S)
    assert harness.stats.points_dropped == 3
    assert harness.stats.write_errors >= 2  # it tried again during the grace, not just gave up


@pytest.mark.parametrize(
    "harness",
    [{"retry_initial_s": LONG_S, "retry_max_s": LONG_S, "shutdown_grace_s": LONG_S}],
    indirect=True,
)
async def test_shutdown_writes_into_a_store_that_returns_within_the_grace(
    harness: Harness,
) -> None:
    harness.store.down = True
    for i in range(3):
        harness.writer.add(reading(i))
    await until(lambda: harness.stats.write_errors == 1, "the failed write")
    harness.writer.close()
    harness.store.down = False
    assert harness.task is not None
    await asyncio.wait_for(harness.task, DEADLINE_S)
    assert (harness.stats.points_written, harness.stats.points_dropped) == (3, 0)


def counting_receipt(acks: list[int], n: int) -> Receipt:
    """A receipt whose acknowledgement records ``n``; released once for its handling."""
    receipt = Receipt(lambda: acks.append(n))
    return receipt


async def test_a_receipt_is_released_only_once_its_points_are_written(harness: Harness) -> None:
    acks: list[int] = []
    harness.store.fail_next = 2
    receipts = [counting_receipt(acks, i) for i in range(3)]
    for i, receipt in enumerate(receipts):
        harness.writer.add(reading(i), receipt)
        receipt.release()  # the handling is done; the points are not written yet
    assert acks == []
    await until(lambda: harness.stats.points_written == 3, "the batch after two failures")
    assert acks == [0, 1, 2]  # in order, after the write that stored them


@pytest.mark.parametrize(
    "harness", [{"batch_size": 1000, "ack_flush_interval_s": 0.01}], indirect=True
)
async def test_waiting_receipts_shorten_the_flush_interval(harness: Harness) -> None:
    acks: list[int] = []
    receipt = counting_receipt(acks, 7)
    harness.writer.add(reading(0), receipt)
    receipt.release()
    # The flush interval is LONG_S: only the acknowledgement cadence can write this batch.
    await until(lambda: acks == [7], "the acknowledgement")


@pytest.mark.parametrize("harness", [{"queue_max": 1, "batch_size": 10}], indirect=True)
async def test_a_dropped_reading_does_not_hold_its_receipt(harness: Harness) -> None:
    acks: list[int] = []
    receipt = counting_receipt(acks, 1)
    assert not harness.writer.add(reading(0, lamp_on=True, current_a=0.1), receipt)
    receipt.release()
    assert acks == [1] and harness.stats.points_dropped == 2
