"""Out-of-order and duplicate readings: the reorder buffer makes any arrival order give the same
episodes as the in-order stream; without a window, late readings are dropped, never flapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decode import Reading
from gateway.ordering import ReorderBuffer
from gateway.rules import RuleEngine
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()
STEP_S = 10.0

Transition = tuple[str, str, bool, float]  # device, code, active, ts


def transitions(engine: RuleEngine, readings: list[Reading]) -> list[Transition]:
    out: list[Transition] = []
    for reading in readings:
        for event in engine.on_reading(reading) or ():
            out.append((event.device_id, event.code, event.active, event.ts.timestamp()))
    return out


def in_order(readings: list[Reading]) -> list[Transition]:
    return transitions(RuleEngine(small_site()), sorted(readings, key=lambda r: r.ts))


def through_buffer(arrivals: list[Reading], window_s: float) -> list[Transition]:
    """Arrival order through a reorder buffer (arrival time = index), then drained."""
    engine, buffer = RuleEngine(small_site()), ReorderBuffer(window_s=window_s)
    out: list[Transition] = []
    for i, reading in enumerate(arrivals):
        now = T0 + i * 1e-3  # all arrive well inside the window
        out += transitions(engine, list(buffer.due(now)))
        out += transitions(engine, buffer.offer(reading, now))
    out += transitions(engine, list(buffer.drain()))
    return out


# A light whose supply sags and recovers, and whose lamp fails: 2-in-a-row rules flip often.
LIGHT_READING = st.fixed_dictionaries(
    {
        "lamp_on": st.booleans(),
        "current_a": st.sampled_from([0.0, 0.01, 0.4, 6.0]),
        "voltage_v": st.sampled_from([120.0, 175.0, 221.0]),
    }
)
# A pipe whose pressure dips (a for_s rule) and whose shed neighbour overheats (hysteresis).
PIPE_READING = st.fixed_dictionaries(
    {
        "pressure_kpa": st.sampled_from([40.0, 120.0, 300.0]),
        "flow_lpm": st.sampled_from([5.0, 150.0]),
    }
)
SHED_READING = st.fixed_dictionaries({"temp_c": st.sampled_from([45.0, 55.0, 65.0])})


@st.composite
def shuffled_stream(draw: st.DrawFn) -> tuple[list[Reading], list[Reading]]:
    """Readings of three devices at distinct, increasing ts; and one arrival order with dups."""
    readings: list[Reading] = []
    for device_id, metrics in ((LIGHT, LIGHT_READING), (PIPE, PIPE_READING), (SHED, SHED_READING)):
        values = draw(st.lists(metrics, min_size=1, max_size=12))
        step = draw(st.sampled_from([STEP_S, 45.0]))  # 45 s: the pipe's 60 s for_s spans readings
        readings += [
            Reading(device_id, T0 + (i + 1) * step, i + 1, m) for i, m in enumerate(values)
        ]
    duplicates = draw(st.lists(st.sampled_from(readings), max_size=len(readings)))
    arrivals = draw(st.permutations(readings + duplicates))
    return readings, arrivals


@settings(max_examples=300, deadline=None)
@given(shuffled_stream())
def test_any_arrival_order_with_duplicates_gives_the_in_order_episodes(
    stream: tuple[list[Reading], list[Reading]],
) -> None:
    readings, arrivals = stream
    spread = max(r.ts for r in readings) - min(r.ts for r in readings)
    expected = in_order(readings)
    assert sorted(through_buffer(arrivals, window_s=spread + 1)) == sorted(expected)


@settings(max_examples=200, deadline=None)
@given(shuffled_stream())
def test_without_a_window_late_readings_never_flap_state(
    stream: tuple[list[Reading], list[Reading]],
) -> None:
    _, arrivals = stream
    result = transitions(RuleEngine(small_site()), arrivals)
    # Whatever arrives, per (device, code) raises and clears strictly alternate, raise first,
    # and ts never goes backwards: no flapping, no double raise from a duplicate.
    last: dict[tuple[str, str], tuple[bool, float]] = {}
    for device_id, code, active, ts in result:
        previous = last.get((device_id, code))
        expected_active = True if previous is None else not previous[0]
        assert active is expected_active
        assert previous is None or previous[1] <= ts
        last[(device_id, code)] = (active, ts)


def test_the_buffer_releases_by_watermark_and_by_wait() -> None:
    buffer = ReorderBuffer(window_s=5.0)
    a, b, c = (Reading(LIGHT, T0 + s, s, {"lamp_on": False}) for s in (1, 2, 9))
    assert buffer.offer(b, now=100.0) == []
    assert buffer.offer(a, now=100.5) == []
    assert buffer.offer(c, now=101.0) == [a, b]  # c - window = T0 + 4 ≥ a, b
    assert list(buffer.due(now=104.9)) == []
    assert list(buffer.due(now=105.0)) == [c]  # waited the whole window since its first arrival
    assert buffer.held == 0


def test_a_zero_window_passes_readings_straight_through() -> None:
    buffer = ReorderBuffer(window_s=0.0)
    reading = Reading(PIPE, T0, None, {"leak": True})
    assert not buffer.enabled
    assert buffer.offer(reading, now=T0) == [reading]
    assert buffer.held == 0


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        ReorderBuffer(window_s=-1.0)
