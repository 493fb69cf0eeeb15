"""Jittered exponential backoff: reconnects, store retries, outbox delivery retries."""

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
        return jittered(delay)

    def reset(self) -> None:
        """Success: start again from the initial delay."""
        self._current = self._initial


def retry_delay(attempt: int, *, initial_s: float, max_s: float) -> float:
    """Delay after the ``attempt``-th failure: doubling from ``initial_s``, jittered half..full.

    The stateless form of ``Backoff``, for retries whose attempt count is stored (outbox rows).
    """
    return jittered(min(max_s, initial_s * 2.0 ** max(0, attempt - 1)))


def jittered(ceiling: float) -> float:
    """A delay drawn uniformly from half to all of ``ceiling``."""
    return ceiling / 2 + random.uniform(0, ceiling / 2)
