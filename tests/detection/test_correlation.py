"""Root-cause grouping in isolation: holds, incidents, joins, partial and full recovery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import BuildingEvent, DeviceEvent, EventSource
from core.settings import Settings
from gateway.correlation import Correlator, GroupingPolicy, groups_of
from governance.model import GroupingOverrides
from sensors.catalogue import OFFLINE, Severity
from tests.detection.sites import ANNEX_PIPE, TOWER, TOWER_LIGHTS, TOWER_SIZE, tower_site

T0 = datetime(2025, 6, 1, 20, 0, tzinfo=UTC).timestamp()
POLICY = GroupingPolicy(enabled=True, group_wait_s=60.0, min_share=0.6, min_devices=4)


def offline(device_id: str, at: float, *, active: bool = True) -> DeviceEvent:
    return DeviceEvent(
        device_id=device_id,
        code=OFFLINE,
        active=active,
        severity=Severity.MINOR,
        ts=datetime.fromtimestamp(at, UTC),
        source=EventSource.LIVENESS,
    )


def correlator(policy: GroupingPolicy = POLICY) -> Correlator:
    return Correlator(site=tower_site(), policy=policy)


def test_most_of_a_building_going_offline_becomes_one_incident() -> None:
    c = correlator()
    held = [c.offer(offline(d, T0 + i), now=T0 + i) for i, d in enumerate(TOWER_LIGHTS)]
    assert held == [[] for _ in TOWER_LIGHTS]
    assert c.next_due() == T0 + POLICY.group_wait_s
    assert c.due(now=T0 + POLICY.group_wait_s - 0.001) == []
    (incident,) = c.due(now=T0 + POLICY.group_wait_s)
    assert isinstance(incident, BuildingEvent)
    assert (incident.building_id, incident.group_id, incident.code, incident.active) == (
        TOWER,
        f"building:{TOWER}",
        OFFLINE,
        True,
    )
    assert sorted(incident.device_ids) == sorted(TOWER_LIGHTS)
    assert incident.ts == datetime.fromtimestamp(T0, UTC)  # the first device's outage
    assert c.incidents_opened == 1


def test_one_device_alone_is_released_unchanged_after_the_wait() -> None:
    c = correlator()
    event = offline(TOWER_LIGHTS[3], T0)
    assert c.offer(event, now=T0) == []
    assert c.due(now=T0 + POLICY.group_wait_s) == [event]
    assert c.next_due() is None


def test_a_few_devices_below_the_share_are_released_in_order() -> None:
    c = correlator()
    events = [offline(d, T0 + i) for i, d in enumerate(TOWER_LIGHTS[:10])]  # 10/30 < 60 %
    back = offline(TOWER_LIGHTS[0], T0 + 20, active=False)
    for event in [*events, back]:
        assert c.offer(event, now=event.ts.timestamp()) == []
    assert c.due(now=T0 + POLICY.group_wait_s) == [*events, back]


def test_devices_joining_an_open_incident_attach_and_clears_detach() -> None:
    c = correlator()
    for d in TOWER_LIGHTS[:20]:
        c.offer(offline(d, T0), now=T0)
    (opened,) = c.due(now=T0 + POLICY.group_wait_s)
    assert len(opened.device_ids) == 20  # type: ignore[union-attr]
    (joined,) = c.offer(offline(TOWER_LIGHTS[25], T0 + 70), now=T0 + 70)
    assert isinstance(joined, BuildingEvent) and joined.active
    assert joined.device_ids == (TOWER_LIGHTS[25],)
    (left,) = c.offer(offline(TOWER_LIGHTS[0], T0 + 80, active=False), now=T0 + 80)
    assert isinstance(left, BuildingEvent) and left.active  # 20 of 30 still down
    assert [(m.device_id, m.active) for m in left.members] == [(TOWER_LIGHTS[0], False)]


def test_the_incident_closes_with_its_last_device_back() -> None:
    c = correlator()
    for d in TOWER_LIGHTS:
        c.offer(offline(d, T0), now=T0)
    c.due(now=T0 + POLICY.group_wait_s)
    out: list[object] = []
    for i, d in enumerate(TOWER_LIGHTS):  # a slow recovery, one device after the other
        out += c.offer(offline(d, T0 + 100 + i, active=False), now=T0 + 100 + i)
    assert all(isinstance(e, BuildingEvent) for e in out)  # no per-device storm while recovering
    assert [e.active for e in out] == [True] * (TOWER_SIZE - 1) + [False]  # type: ignore[attr-defined]
    # With the incident over, the next outage of one device is held and released on its own.
    again = offline(TOWER_LIGHTS[0], T0 + 900)
    assert c.offer(again, now=T0 + 900) == []
    assert c.due(now=T0 + 900 + POLICY.group_wait_s) == [again]


def test_other_codes_and_small_groups_pass_straight_through() -> None:
    c = correlator()
    lamp = DeviceEvent(
        TOWER_LIGHTS[0], "lamp_failure", True, Severity.MINOR, datetime.now(UTC), EventSource.RULE
    )
    assert c.offer(lamp, now=T0) == [lamp]
    pipe = offline(ANNEX_PIPE, T0)  # the annex has one device: never worth holding
    assert c.offer(pipe, now=T0) == [pipe]


def test_circuits_group_separately_and_disabled_grouping_holds_nothing() -> None:
    circuits = {d: ("a" if i < 10 else "b") for i, d in enumerate(TOWER_LIGHTS)}
    groups = groups_of(tower_site(circuits=circuits), min_devices=4)
    assert groups[TOWER_LIGHTS[0]].group_id == f"circuit:{TOWER}/a"
    assert len(groups[TOWER_LIGHTS[0]].devices) == 10
    assert len(groups[TOWER_LIGHTS[15]].devices) == TOWER_SIZE - 10
    off = GroupingPolicy(enabled=False, group_wait_s=60.0, min_share=0.6, min_devices=4)
    event = offline(TOWER_LIGHTS[0], T0)
    assert Correlator(site=tower_site(), policy=off).offer(event, now=T0) == [event]


def test_the_site_file_overrides_the_settings() -> None:
    site = tower_site(grouping=GroupingOverrides(group_wait_s=5.0, min_devices=10))
    policy = GroupingPolicy.of(Settings(group_min_share=0.5), site)
    assert policy == GroupingPolicy(enabled=True, group_wait_s=5.0, min_share=0.5, min_devices=10)


@pytest.mark.parametrize(("affected", "expected"), [(3, False), (17, False), (18, True)])
def test_the_threshold_needs_both_the_share_and_the_count(affected: int, expected: bool) -> None:
    assert POLICY.met(affected, TOWER_SIZE) is expected
