"""Liveness with a manual clock: last will, silence sweep, recovery, grace after reconnect."""

from __future__ import annotations

from datetime import UTC, datetime

from core.clock import ManualClock
from core.events import EventSource
from gateway.liveness import Liveness
from sensors.catalogue import OFFLINE, Severity
from sensors.profiles import PROFILES, Overrides, effective_params
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site

START = datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


def silence_limit(device_type: str) -> float:
    params = effective_params(PROFILES[device_type])
    return params["heartbeat_s"] * params["offline_after_heartbeats"]


def test_last_will_raises_offline_at_once_with_the_type_severity() -> None:
    clock = ManualClock(START)
    liveness = Liveness(site=small_site(), clock=clock)
    now = clock().timestamp()
    light = liveness.status(LIGHT, online=False, ts=now)
    shed = liveness.status(SHED, online=False, ts=now)
    assert light is not None and shed is not None
    assert (light.code, light.active, light.severity, light.source) == (
        OFFLINE,
        True,
        Severity.MINOR,
        EventSource.LIVENESS,
    )
    assert shed.severity is Severity.MAJOR
    assert liveness.status(LIGHT, online=False, ts=now) is None  # retained will again: no repeat


def test_online_or_any_message_clears_offline() -> None:
    clock = ManualClock(START)
    liveness = Liveness(site=small_site(), clock=clock)
    liveness.status(LIGHT, online=False, ts=clock().timestamp())
    liveness.status(PIPE, online=False, ts=clock().timestamp())
    back = liveness.status(LIGHT, online=True, ts=clock.advance(5).timestamp())
    assert back is not None and (back.code, back.active) == (OFFLINE, False)
    spoke = liveness.seen(PIPE, clock.advance(1).timestamp())
    assert spoke is not None and not spoke.active
    assert liveness.seen(PIPE, clock.advance(1).timestamp()) is None
    assert not liveness.is_offline(LIGHT) and not liveness.is_offline(PIPE)


def test_sweep_marks_silent_devices_offline_only_after_their_limit() -> None:
    clock = ManualClock(START)
    liveness = Liveness(site=small_site(), clock=clock)
    liveness.seen(LIGHT, clock().timestamp())
    liveness.seen(SHED, clock().timestamp())
    shed_limit, light_limit = silence_limit("charging_shed"), silence_limit("corridor_light")
    assert shed_limit < light_limit

    clock.advance(shed_limit - 0.5)
    assert liveness.sweep() == []
    clock.advance(0.5)
    events = liveness.sweep()
    assert [(e.device_id, e.active, e.severity) for e in events] == [(SHED, True, Severity.MAJOR)]
    assert events[0].ts == clock()
    assert liveness.sweep() == []  # raised once

    clock.advance(light_limit - shed_limit)
    assert [e.device_id for e in liveness.sweep()] == [LIGHT]


def test_devices_never_seen_since_start_are_not_swept() -> None:
    clock = ManualClock(START)
    liveness = Liveness(site=small_site(), clock=clock)
    clock.advance(100 * silence_limit("corridor_light"))
    assert liveness.sweep() == []


def test_heartbeat_overrides_per_device() -> None:
    site = small_site(device_overrides={LIGHT: Overrides(params={"heartbeat_s": 5.0})})
    clock = ManualClock(START)
    liveness = Liveness(site=site, clock=clock)
    liveness.seen(LIGHT, clock().timestamp())
    clock.advance(5.0 * effective_params(PROFILES["corridor_light"])["offline_after_heartbeats"])
    assert [e.device_id for e in liveness.sweep()] == [LIGHT]


def test_grace_restarts_silence_clocks_after_a_gateway_reconnect() -> None:
    clock = ManualClock(START)
    liveness = Liveness(site=small_site(), clock=clock)
    liveness.seen(SHED, clock().timestamp())
    limit = silence_limit("charging_shed")
    clock.advance(limit - 1)
    liveness.grace()
    clock.advance(limit - 1)
    assert liveness.sweep() == []
    clock.advance(1)
    assert [e.device_id for e in liveness.sweep()] == [SHED]
