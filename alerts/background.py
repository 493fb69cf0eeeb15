"""Named background loops for the async context managers of alerts (relay, escalation sweeper).

The loops run in one ``asyncio.TaskGroup`` inside a supervisor task: entering the owner starts
them, leaving it cancels them all and waits until they are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Protocol

log = logging.getLogger(__name__)

Loop = Callable[[], Coroutine[Any, Any, None]]


class CountsFailures(Protocol):
    """Stats with a ``failed`` counter."""

    failed: int


def every(
    interval_s: float, step: Callable[[], Awaitable[object]], *, stats: CountsFailures, what: str
) -> Loop:
    """A loop running ``step`` every ``interval_s``. A failure (a database hiccup) is counted
    in ``stats.failed`` and logged, and the next round tries again: the loop never ends."""

    async def loop() -> None:
        while True:
            try:
                await step()
            except Exception:
                stats.failed += 1
                log.exception("alerts: %s failed", what)
            await asyncio.sleep(interval_s)

    return loop


class BackgroundLoops:
    """The loops of one owner; ``start`` once on enter, ``stop`` on exit."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._supervisor: asyncio.Task[None] | None = None

    def start(self, loops: Mapping[str, Loop]) -> None:
        """Run each loop as a task of that name."""
        if self._supervisor is not None:
            raise RuntimeError(f"{self._owner} can be entered only once")
        self._supervisor = asyncio.create_task(self._supervise(loops), name=self._owner)

    async def stop(self) -> None:
        """Cancel every loop and wait for them; a loop that had failed raises here."""
        assert self._supervisor is not None, "stop() before start()"
        self._supervisor.cancel()
        await asyncio.wait({self._supervisor})
        if not self._supervisor.cancelled():
            self._supervisor.result()

    @staticmethod
    async def _supervise(loops: Mapping[str, Loop]) -> None:
        async with asyncio.TaskGroup() as tasks:
            for name, loop in loops.items():
                tasks.create_task(loop(), name=name)


class LoopOwner:
    """Base of async context managers whose work is their :class:`BackgroundLoops`."""

    _loops: BackgroundLoops

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._loops.stop()
        finally:
            await self._after_loops()

    async def _after_loops(self) -> None:
        """Release what the loops used once they are done (nothing by default)."""
