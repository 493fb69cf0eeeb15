"""Sequence numbers: duplicates and small reorderings are stale, but no seq can blind a device."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decode import Reading
from gateway.ordering import SequenceRule, SeqVerdict
from gateway.rules import RuleEngine
from tests.gateway.sites import LIGHT, small_site

T0 = 1_750_000_000.0
RULE = SequenceRule(reorder_tolerance=10, max_jump=1_000)
HEALTHY = {"current_a": 0.3}
SHORT = {"current_a": 12.0}


class Device:
    """Feeds one light's readings, one second apart, into a rule engine."""

    def __init__(self) -> None:
        self.engine = RuleEngine(small_site(), sequence=RULE)
        self.clock = T0

    def send(self, seq: int, metrics: dict[str, float] = HEALTHY) -> bool:
        """True when the reading was accepted (evaluated), False when dropped as stale."""
        self.clock += 1
        return self.engine.on_reading(Reading(LIGHT, self.clock, seq, metrics)) is not None


def test_one_absurd_seq_does_not_make_later_readings_stale() -> None:
    device = Device()
    assert [device.send(seq) for seq in (40, 41, 10**30)] == [True, True, True]
    assert [device.send(seq) for seq in (42, 43, 44)] == [True, True, True]
    assert device.engine.seq_resets == 2  # the jump, and the return from it
    assert not device.send(44)  # duplicates are still caught after the reset


def test_a_reboot_to_zero_is_accepted_without_a_birth_message() -> None:
    device = Device()
    assert all(device.send(seq) for seq in (5, 6, 7))
    assert device.send(0, SHORT)
    assert device.engine.active_faults(LIGHT) == {"short_circuit"}
    assert device.send(1)
    assert device.engine.seq_resets == 1


def test_a_reboot_far_below_the_last_seq_is_a_restart() -> None:
    device = Device()
    assert device.send(5_000)
    assert device.send(17)
    assert device.engine.seq_resets == 1


def test_small_reorderings_and_duplicates_are_still_stale() -> None:
    device = Device()
    assert device.send(100)
    assert not device.send(100)  # duplicate
    assert not device.send(95)  # overtaken by 100, within the tolerance
    assert not device.send(100 - RULE.reorder_tolerance)
    assert device.send(101)
    assert device.engine.seq_resets == 0


@settings(deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**40), min_size=1, max_size=30))
def test_no_seq_history_can_make_a_rebooted_device_deaf(history: list[int]) -> None:
    """Whatever was sent before, a device that restarts at 0 and counts up is heard again."""
    device = Device()
    for seq in history:
        device.send(seq)
    accepted = [device.send(seq) for seq in range(5)]
    # At most the first reading can be a duplicate of the last seq the history left behind.
    assert all(accepted[1:])


def test_the_rule_on_its_own() -> None:
    assert RULE.judge(None, 7) is SeqVerdict.NEXT
    assert RULE.judge(7, 8) is SeqVerdict.NEXT
    assert RULE.judge(7, 7 + RULE.max_jump) is SeqVerdict.NEXT
    assert RULE.judge(7, 8 + RULE.max_jump) is SeqVerdict.RESET
    assert RULE.judge(7, 7) is SeqVerdict.STALE
    assert RULE.judge(7, 0) is SeqVerdict.RESET
    assert RULE.judge(0, 0) is SeqVerdict.STALE
    assert RULE.judge(50, 50 - RULE.reorder_tolerance) is SeqVerdict.STALE
    assert RULE.judge(50, 49 - RULE.reorder_tolerance) is SeqVerdict.RESET
