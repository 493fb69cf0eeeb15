"""Poll for a condition with a deadline instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEADLINE_S = 10.0
POLL_S = 0.005


async def until(
    condition: Callable[[], object], what: str, *, within_s: float = DEADLINE_S
) -> None:
    """Return once ``condition()`` is truthy; fail naming ``what`` after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s}s waiting for {what}")
        await asyncio.sleep(POLL_S)
