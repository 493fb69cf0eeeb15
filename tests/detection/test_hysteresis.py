"""A signal oscillating around the overheat threshold, inside the hysteresis band, opens at most
one episode (property-based, over the shed's effective thresholds)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.events import DeviceEvent
from gateway.decode import Reading
from gateway.rules import RuleEngine
from sensors.profiles import PROFILES
from tests.gateway.sites import SHED, small_site

T0 = datetime(2025, 7, 1, 14, 0, tzinfo=UTC).timestamp()
RAISE_C = PROFILES["charging_shed"].params["overheat_c"]
CLEAR_C = PROFILES["charging_shed"].params["overheat_clear_c"]

# Anything at or above the clear threshold: inside the band or above the raise threshold.
NEVER_CLEARS = st.floats(min_value=CLEAR_C, max_value=RAISE_C + 20, allow_nan=False)


@given(st.lists(NEVER_CLEARS, min_size=1, max_size=60))
def test_oscillating_above_the_clear_threshold_opens_at_most_one_episode(
    temps: list[float],
) -> None:
    engine = RuleEngine(small_site())
    events: list[DeviceEvent] = []
    for i, temp in enumerate(temps):
        events += engine.on_reading(Reading(SHED, T0 + i, i + 1, {"temp_c": temp})) or ()
    overheat = [(e.active, e.ts) for e in events if e.code == "overheat"]
    crossed = any(t > RAISE_C for t in temps)
    assert [active for active, _ in overheat] == ([True] if crossed else [])
    if crossed:  # the one episode starts at the first reading above the raise threshold
        first = next(i for i, t in enumerate(temps) if t > RAISE_C)
        assert overheat[0][1].timestamp() == T0 + first
