"""Random and mutated payloads through the whole intake in process (decode, rules, writer).

No payload may crash the handler or get an invalid field stored, and the counters must add up to
what was sent: every message accepted or rejected, every metric of a judged reading either
accepted or dropped with its reason.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import ManualClock
from core.settings import Settings
from gateway.decode import RejectReason
from gateway.service import Gateway
from gateway.stats import GatewayStats
from sensors.profiles import PROFILES, MetricKind
from tests.gateway.fakes import ListSink, MemoryStore
from tests.gateway.sites import DEVICE_TYPES, small_site
from tests.servers.ports import free_port

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()
BATCH = 20  # messages hypothesis draws per example
VARIANTS = 9  # cheap random mutations of each (drawing every message costs far more CPU)
EXAMPLES = 60
MINIMUM_SENT = 10_000
POISON: list[object] = [math.nan, math.inf, -math.inf, None, "12", 10**40, -1e308, True, [], {}]

KNOWN_METRICS = sorted({name for p in PROFILES.values() for name in p.metrics})
DEVICES = [*DEVICE_TYPES, "ghost-1"]
CHANNELS = ["telemetry", "telemetry", "telemetry", "event", "status", "other"]

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and ±inf included: json.dumps writes them as NaN / Infinity
    st.floats(min_value=-200, max_value=2_000),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
)
METRICS = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_METRICS), st.text(max_size=6)), VALUES, max_size=6
)
TIMESTAMPS = st.one_of(
    st.floats(min_value=T - 600, max_value=T + 600),
    st.floats(),
    st.text(max_size=8),
    st.none(),
)
SEQS = st.one_of(st.integers(min_value=-3, max_value=10**30), st.floats(), st.none())
BODIES = st.fixed_dictionaries({"metrics": METRICS}, optional={"ts": TIMESTAMPS, "seq": SEQS})
EVENTS = st.fixed_dictionaries(
    {"code": st.sampled_from(["smoke", "leak", "burst", "no_power", "x"]), "active": VALUES}
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    """A topic and a payload: well-formed, mutated, or noise."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        topic = draw(st.text(max_size=30))  # control characters and all
    else:
        topic = f"fm/{draw(st.sampled_from(DEVICES))}/{draw(st.sampled_from(CHANNELS))}"
    shape = draw(st.sampled_from(["body", "body", "body", "mutated", "event", "status", "raw"]))
    if shape == "raw":
        return topic, draw(st.binary(max_size=40))
    if shape == "status":
        return topic, draw(st.sampled_from([b"online", b"offline", b"onl1ne"]))
    payload = json.dumps(draw(EVENTS if shape == "event" else BODIES)).encode()
    if shape == "mutated" and payload:
        at = draw(st.integers(min_value=0, max_value=len(payload) - 1))
        cut = draw(st.booleans())
        payload = payload[:at] if cut else payload[:at] + draw(st.binary(min_size=1, max_size=3))
    return topic, payload


def mutate(rng: random.Random, payload: bytes) -> bytes:
    """One random mutation: a byte flipped, inserted or cut, or a field poisoned."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    choice = rng.randrange(6)
    if choice >= 3 and isinstance(body, dict):
        metrics = body.get("metrics")
        if choice == 3 and isinstance(metrics, dict) and metrics:
            metrics[rng.choice(sorted(metrics, key=str))] = rng.choice(POISON)
        elif choice == 4 and isinstance(metrics, dict):
            metrics[rng.choice(["humidity", "x\n\x1b[2J", "smoke", "temp_c"])] = rng.choice(POISON)
        else:
            body["seq"] = rng.choice([0, 1, 10**30, -1, 1.5, "7"])
        return json.dumps(body).encode()
    if not payload:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(payload))
    if choice == 0:
        return payload[:at] + bytes([rng.randrange(256)]) + payload[at + 1 :]
    if choice == 1:
        return payload[:at]
    return payload[:at] + rng.randbytes(rng.randint(1, 3)) + payload[at:]


def judged_metrics(payload: bytes) -> int:
    """How many distinct metrics a reading that reached per-metric judging carried."""
    metrics = json.loads(payload.decode("utf-8"))["metrics"]
    assert isinstance(metrics, dict)
    return len(metrics)


@dataclass
class Totals:
    """What the test sent, counted independently of the gateway."""

    messages: int = 0
    judged_metrics: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


def check_point_values(store: MemoryStore) -> None:
    for point in store.points:
        spec = PROFILES[DEVICE_TYPES[point.device_id]].metrics[point.metric]
        assert math.isfinite(point.value), point
        if spec.kind is MetricKind.BOOL:
            assert point.value in (0.0, 1.0), point
        else:
            assert spec.minimum is not None and spec.maximum is not None
            assert spec.minimum <= point.value <= spec.maximum, point


async def feed(batch: list[tuple[str, bytes]], totals: Totals) -> None:
    store = MemoryStore()
    gateway = Gateway(
        # Nothing listens on the broker port: the MQTT loop just retries; messages come in here.
        settings=Settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}", tsdb_flush_interval_s=0.01),
        site=small_site(),
        store=store,
        sink=ListSink(),
        clock=ManualClock(NOW),
    )
    stats: GatewayStats = gateway.stats
    async with gateway:
        for topic, payload in batch:
            accepted, rejected = stats.accepted, dict(stats.rejected)
            good, dropped = stats.metrics_accepted, stats.dropped_metrics_total
            await gateway.handle(topic, payload)
            totals.messages += 1
            assert stats.handler_errors == 0, (topic, payload)
            no_valid = stats.rejected.get(RejectReason.NO_VALID_METRICS, 0) - rejected.get(
                RejectReason.NO_VALID_METRICS, 0
            )
            reading = stats.accepted > accepted and topic.endswith("/telemetry")
            counted = stats.metrics_accepted - good + stats.dropped_metrics_total - dropped
            if reading or no_valid:
                judged = judged_metrics(payload)
                assert counted == judged, (topic, payload)
                totals.judged_metrics += judged
            else:
                assert counted == 0, (topic, payload)
            assert stats.received == stats.accepted + stats.rejected_total
    assert stats.handler_errors == stats.sink_errors == 0
    assert stats.points_dropped == 0
    assert len(store.points) == stats.points_written <= stats.metrics_accepted
    check_point_values(store)
    for reason, count in stats.rejected.items():
        totals.rejected_by_reason[reason] = totals.rejected_by_reason.get(reason, 0) + count


def test_ten_thousand_random_and_mutated_payloads() -> None:
    totals = Totals()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(messages(), min_size=BATCH, max_size=BATCH), st.randoms(use_true_random=False))
    def run(drawn: list[tuple[str, bytes]], rng: random.Random) -> None:
        batch = [
            (topic, mutate(rng, payload) if variant else payload)
            for topic, payload in drawn
            for variant in range(VARIANTS + 1)
        ]
        asyncio.run(feed(batch, totals))

    run()
    assert totals.messages >= MINIMUM_SENT
    assert totals.judged_metrics > 0
    # Every shape of refusal was exercised, not only the easy ones.
    for reason in (
        RejectReason.BAD_TOPIC,
        RejectReason.UNKNOWN_DEVICE,
        RejectReason.BAD_JSON,
        RejectReason.NO_VALID_METRICS,
        RejectReason.CLOCK_SKEW,
    ):
        assert totals.rejected_by_reason.get(reason, 0) > 0, reason
