"""``python -m benchmarks``: detection latency, ingestion throughput and the fault storm (orders/s
on SQLite and on a real PostgreSQL, telemetry while the storm commits) against a real Mosquitto,
each next to a baseline measured in the same run. Bounded to a few minutes; prints figures and
ratios."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.board import board_request
from benchmarks.latency import (
    describe,
    fault_to_event,
    mqtt_baseline,
    silence_to_offline,
)
from benchmarks.reports import report_figures
from benchmarks.servers import mosquitto, postgres
from benchmarks.stores import run_stores
from benchmarks.storm import (
    postgres_database,
    sqlite_url,
    storm_one_by_one,
    storm_through_inbox,
    storm_with_intake,
)
from benchmarks.storm_ingest import StormIngest, ingest_during_storm
from benchmarks.support import summary_ms
from benchmarks.throughput import gateway_ingest, raw_subscriber

LATENCY_SAMPLES = int(os.environ.get("FM_BENCH_LATENCY_SAMPLES", "1000"))
ORDER_SAMPLES = int(os.environ.get("FM_BENCH_ORDER_SAMPLES", "200"))
THROUGHPUT_MESSAGES = int(os.environ.get("FM_BENCH_MESSAGES", "100000"))
# Long enough that the flood outlasts the storm even when the storm gets few turns.
STORM_FLOOD_MESSAGES = int(os.environ.get("FM_BENCH_STORM_MESSAGES", "200000"))
STORM_REPEATS = int(os.environ.get("FM_BENCH_STORM_REPEATS", "5"))
# The stores on their own: the embedded write rate over >= 2 M points, a measured day of a share
# of the demo fleet (scaled up), and the InfluxDB adapter against a direct writer.
STORE_POINTS = int(os.environ.get("FM_BENCH_STORE_POINTS", "2500000"))
INFLUX_POINTS = int(os.environ.get("FM_BENCH_INFLUX_POINTS", "1000000"))
DAY_SHARE = float(os.environ.get("FM_BENCH_DAY_SHARE", "0.25"))


async def run() -> None:
    started = time.perf_counter()
    print(f"facility monitor benchmarks (cpus: {os.cpu_count()})\n")
    print("latency (one message at a time, QoS 0, real Mosquitto on loopback)")
    with mosquitto() as port:
        baseline = await mqtt_baseline(port, LATENCY_SAMPLES)
        print(describe("baseline: MQTT publish → subscriber", baseline))
        events = await fault_to_event(port, LATENCY_SAMPLES, with_alerts=False)
        print(describe("message → device event (gateway)", events))
        orders = await fault_to_event(port, ORDER_SAMPLES, with_alerts=True)
        print(describe("message → order committed (EventIntake, SQLite)", orders))
        print(f"  order committed p99 {summary_ms(orders)['p99']:.2f} ms (target <= 20 ms)")
        base, ev = summary_ms(baseline), summary_ms(events)
        print(
            f"  gateway overhead over the MQTT baseline: p50 +{ev['p50'] - base['p50']:.2f} ms,"
            f" p99 +{ev['p99'] - base['p99']:.2f} ms (x{ev['p50'] / base['p50']:.2f} at p50)"
        )
        delays, limit, sweep = await silence_to_offline(port)
        print(f"\nsilence → offline (silence limit {limit:.1f} s, sweep interval {sweep:.1f} s)")
        print(describe("delay past the silence limit", delays))
        print(f"  bound: one sweep interval ({sweep * 1000:.0f} ms) plus the MQTT latency")

    print(f"\nthroughput ({THROUGHPUT_MESSAGES} QoS 0 telemetry messages from another process)")
    with mosquitto() as port:
        raw = await raw_subscriber(port, THROUGHPUT_MESSAGES)
    with mosquitto() as port:
        rate, accepted, points = await gateway_ingest(port, THROUGHPUT_MESSAGES)
    print(f"  baseline: raw aiomqtt subscriber      {raw:10,.0f} msgs/s")
    print(
        f"  gateway (rules, liveness, batching)   {rate:10,.0f} msgs/s  ({rate / raw:.0%} of raw)"
    )
    print(f"  accepted {accepted} of {THROUGHPUT_MESSAGES}; {points} points to the store")
    await _storm()
    await board_request()
    await report_figures()
    await _stores()
    print(f"\ntotal run time {time.perf_counter() - started:.1f} s")


async def _stores() -> None:
    await run_stores(points=STORE_POINTS, influx_points=INFLUX_POINTS, day_share=DAY_SHARE)


async def _storm() -> None:
    print("\nfault storm: all 448 corridor lights of the demo site short-circuit at once")
    with tempfile.TemporaryDirectory(prefix="fm-bench-storm-") as directory:
        sqlite = (
            sqlite_url(Path(directory), "one.sqlite3"),
            sqlite_url(Path(directory), "gc.sqlite3"),
            sqlite_url(Path(directory), "inbox.sqlite3"),
        )
        await _storm_figures("SQLite", *sqlite)
    with postgres() as server:
        await _storm_figures(
            "PostgreSQL",
            postgres_database(server, "one"),
            postgres_database(server, "gc"),
            postgres_database(server, "inbox"),
        )
    for separate, shape in (
        (False, "gateway and alerts in one process (FM_ALERTS_HANDOFF=inline)"),
        (True, "alerts in a process of their own (FM_ALERTS_HANDOFF=inbox + fm alerts)"),
    ):
        print(
            f"\ntelemetry during the storm ({STORM_FLOOD_MESSAGES} QoS 0 telemetry messages from"
            f" another process; SQLite): {shape}"
        )
        # The window is a few hundred milliseconds: one run is noise, the median of several is
        # the figure (every run is printed).
        ratios = []
        for run in range(1, STORM_REPEATS + 1):
            with tempfile.TemporaryDirectory(prefix="fm-bench-ingest-") as directory:
                figures = await ingest_during_storm(
                    STORM_FLOOD_MESSAGES,
                    sqlite_url(Path(directory), "storm.sqlite3"),
                    sqlite_url(Path(directory), "baseline.sqlite3"),
                    separate=separate,
                )
            print(f"  run {run} of {STORM_REPEATS}:")
            _print_ingest(figures)
            ratios.append(figures.during / figures.before)
        print(
            f"  median telemetry kept during the storm, against the second before it:"
            f" {statistics.median(ratios):.0%} (runs: {', '.join(f'{r:.0%}' for r in ratios)};"
            " target >= 80 %)"
        )


def _print_ingest(figures: StormIngest) -> None:
    print(f"  gateway, the second before the storm  {figures.before:10,.0f} msgs/s")
    print(f"  gateway, same window, no storm        {figures.without:10,.0f} msgs/s")
    print(
        f"  gateway while the storm commits       {figures.during:10,.0f} msgs/s"
        f"  ({figures.during / figures.before:.0%} of the second before,"
        f" {figures.during / figures.without:.0%} of no storm)"
    )
    print(
        f"  storm under the flood: {figures.orders} orders committed in"
        f" {figures.storm_s * 1000:.0f} ms ({figures.orders / figures.storm_s:,.0f} orders/s)"
        + ("" if figures.flood_outlasted_storm else "  (the flood ended first: rate understated)")
    )


async def _storm_figures(store: str, one_by_one_url: str, intake_url: str, inbox_url: str) -> None:
    one = await storm_one_by_one(one_by_one_url)
    rate, orders, batches = await storm_with_intake(intake_url)
    separate = await storm_through_inbox(inbox_url)
    print(f"  {store}: one transaction per event    {one:10,.0f} orders/s  (baseline)")
    print(
        f"  {store}: alerts intake, group commit  {rate:10,.0f} orders/s  (x{rate / one:.1f});"
        f" {orders} orders in {batches} transactions; target >= 1,000 orders/s"
    )
    print(
        f"  {store}: inbox + separate fm alerts   {separate:10,.0f} orders/s"
        f"  (x{separate / one:.1f}); hand-over to the last order committed"
    )


#: `python -m benchmarks SECTION ...` runs only those sections (each with its own baselines).
SECTIONS: dict[str, Callable[[], Awaitable[None]]] = {
    "storm": _storm,
    "stores": _stores,
    "reports": report_figures,
    "board": board_request,
}


async def _sections(names: list[str]) -> None:
    for name in names:
        await SECTIONS[name]()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    names = sys.argv[1:]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
    asyncio.run(_sections(names) if names else run())


if __name__ == "__main__":
    main()
