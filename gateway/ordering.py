"""Out-of-order telemetry: a small per-device reorder buffer keyed by the reading's ``ts``.

Rules are stateful (N readings in a row, for N seconds, hysteresis), so their outcome depends on
the order readings are evaluated in. The broker keeps one device's messages in order, but a
device that buffers while disconnected, or a QoS 1 redelivery, can hand the gateway readings out
of ``ts`` order. Dropping every reading older than the newest one seen (the rule engine does that)
keeps state from flapping, but a permutation can then yield different episodes.

With ``reorder_window_s`` > 0 each device's readings wait up to that long (gateway clock) and are
released in ``(ts, seq)`` order: released when a reading at least the window newer arrives (an
event-time watermark) or when the oldest held reading has waited the whole window. Any order of
arrival within the window therefore gives the same evaluation order, hence the same episodes.
Readings arriving after their turn are still dropped as stale by the rule engine, and duplicates
(the same ``seq``) end up adjacent, where the rule engine's sequence check drops them.

The price is latency: every rule decision waits for the window. The default 0 disables the buffer
(no cost, no delay) — see docs/detection.md.

``SequenceRule`` judges a reading's ``seq`` against the last one accepted from its device. Only a
small step back (a duplicate or a genuine reordering) is stale; a big step back, a return to 0 (a
reboot) or an absurd jump forward starts a new sequence, so no single ``seq`` can make the later
readings of a device stale.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from core.settings import Settings
from gateway.decode import Reading


class SeqVerdict(StrEnum):
    """What a reading's ``seq`` means relative to the last accepted one."""

    NEXT = "next"  # the sequence goes on
    RESET = "reset"  # a new sequence starts here (reboot, absurd jump, recovery from one)
    STALE = "stale"  # a duplicate or a reading overtaken by a newer one


@dataclass(frozen=True, slots=True)
class SequenceRule:
    """When a ``seq`` continues, restarts, or is stale (documented in docs/mqtt-contract.md)."""

    reorder_tolerance: int  # a step back of at most this much is reordering, not a reboot
    max_jump: int  # a step forward beyond this is a new sequence (counted as a reset)

    @classmethod
    def from_settings(cls, settings: Settings) -> SequenceRule:
        """The rule with ``seq_reorder_tolerance`` and ``seq_max_jump`` of ``settings``."""
        return cls(reorder_tolerance=settings.seq_reorder_tolerance, max_jump=settings.seq_max_jump)

    @classmethod
    def defaults(cls) -> SequenceRule:
        """The rule with the settings' default tolerances (for engines built without settings)."""
        fields = Settings.model_fields
        return cls(
            reorder_tolerance=fields["seq_reorder_tolerance"].default,
            max_jump=fields["seq_max_jump"].default,
        )

    def judge(self, last: int | None, seq: int) -> SeqVerdict:
        """The verdict on ``seq`` after ``last`` (None: nothing seen since start or birth)."""
        if last is None:
            return SeqVerdict.NEXT
        if seq > last:
            return SeqVerdict.NEXT if seq - last <= self.max_jump else SeqVerdict.RESET
        if seq == last:
            return SeqVerdict.STALE
        # Devices count from 0 after a boot, so 0 always starts again, however close to ``last``.
        if seq == 0 or last - seq > self.reorder_tolerance:
            return SeqVerdict.RESET
        return SeqVerdict.STALE


def _order(reading: Reading) -> tuple[float, int]:
    return reading.ts, -1 if reading.seq is None else reading.seq


class _Held:
    __slots__ = ("first_arrival", "newest_ts", "readings")

    def __init__(self, arrival: float) -> None:
        self.first_arrival = arrival
        self.newest_ts = float("-inf")
        self.readings: list[Reading] = []


class ReorderBuffer:
    """Holds each device's readings for ``window_s`` and hands them back in ``ts`` order."""

    __slots__ = ("_held", "window_s")

    def __init__(self, *, window_s: float) -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be ≥ 0, got {window_s}")
        self.window_s = window_s
        self._held: dict[str, _Held] = {}

    @property
    def enabled(self) -> bool:
        """False when the window is 0: readings pass straight through."""
        return self.window_s > 0

    @property
    def held(self) -> int:
        """Readings waiting for their turn."""
        return sum(len(h.readings) for h in self._held.values())

    def offer(self, reading: Reading, now: float) -> list[Reading]:
        """Take one reading (arrived at ``now``); the readings now due, in ``ts`` order."""
        if not self.window_s:
            return [reading]
        held = self._held.get(reading.device_id)
        if held is None:
            held = self._held[reading.device_id] = _Held(now)
        bisect.insort(held.readings, reading, key=_order)
        held.newest_ts = max(held.newest_ts, reading.ts)
        watermark = held.newest_ts - self.window_s
        cut = bisect.bisect_right(held.readings, watermark, key=lambda r: r.ts)
        if not cut:
            return []
        due, held.readings = held.readings[:cut], held.readings[cut:]
        if not held.readings:
            del self._held[reading.device_id]
        # Otherwise the rest keep the earliest arrival: nothing ever waits longer than the window.
        return due

    def due(self, now: float) -> Iterator[Reading]:
        """Release every device whose oldest held reading has waited ``window_s``."""
        expired = [d for d, h in self._held.items() if now - h.first_arrival >= self.window_s]
        for device_id in expired:
            yield from self._held.pop(device_id).readings

    def drain(self) -> Iterator[Reading]:
        """Release everything (clean shutdown)."""
        held, self._held = self._held, {}
        for device in held.values():
            yield from device.readings
