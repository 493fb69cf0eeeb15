"""Jittered exponential backoff for reconnects and store retries."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``; each is jittered to half..full.

    The jitter keeps a fleet of gateways (or one gateway's retries) from hammering a recovering
    broker or store in lock-step.
    """

    __slots__ = ("_current", "_initial", "_max")

    def __init__(self, *, initial_s: float, max_s: float) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError(f"backoff needs 0 < initial ({initial_s}) <= max ({max_s})")
        self._initial = initial_s
        self._max = max_s
        self._current = initial_s

    def next_delay(self) -> float:
        """The delay to wait now; the following one is twice as long (up to the maximum)."""
        delay = self._current
        self._current = min(self._current * 2, self._max)
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        """Success: start again from the initial delay."""
        self._current = self._initial
