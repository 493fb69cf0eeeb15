"""One relay paces the robots: several relays must not each spend a robot's budget.

The pacing window of each WeCom / DingTalk robot lives in the memory of one relay
(pacing.py). With several relays (``fm alerts`` replicas on PostgreSQL) each would pace on its
own and together exceed the platform's limit, and DingTalk then blocks the robot for ten
minutes. So on PostgreSQL only the relay holding a session-level advisory lock claims robot rows;
the others deliver every other channel. When the holder dies its connection closes, the lock is
free, and another relay takes it at its next claim. A holder checks that its lock connection is
alive once per robot window; a lock lost in between (the database restarted) can let two relays
pace for at most one window. A relay that takes the lock over starts its robots' windows from the
deliveries the outbox recorded in the last window (``recent_robot_sends``), so a hand-over does
not restart the budget. SQLite has one relay process, which always paces.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from alerts.notifications.leases import ROBOT_CHANNELS
from storage.relational.outbox_models import OutboxMessage

log = logging.getLogger(__name__)

#: Key of the advisory lock (b"fmrb"); other keys in this code base: alerts/inbox/consuming.py.
ROBOT_LOCK_KEY = 0x666D7262


class RobotPacerLock:
    """Whether this relay paces (and so claims) the robot endpoints' rows."""

    def __init__(self, engine: AsyncEngine | None, *, recheck_s: float) -> None:
        self._engine = engine
        self._recheck_s = recheck_s
        self._connection: AsyncConnection | None = None
        self._checked_at = 0.0
        #: How many times this relay has taken the lock (on SQLite: 1, from the start).
        self.acquisitions = 0 if self.shared else 1

    @property
    def shared(self) -> bool:
        """True when several relays may share the database (PostgreSQL)."""
        return self._engine is not None and self._engine.dialect.name == "postgresql"

    async def held(self) -> bool:
        """True when this relay paces the robots now (taking the lock when it is free)."""
        if not self.shared:
            return True
        now = time.monotonic()
        if self._connection is not None and now - self._checked_at < self._recheck_s:
            return True
        self._checked_at = now
        try:
            if self._connection is not None:
                await self._connection.execute(text("SELECT 1"))
                return True
            return await self._take()
        except Exception as exc:  # a broken lock connection: the lock is gone with it
            log.warning("outbox: the robot pacing lock was lost (%s); taking it again", exc)
            await self.close()
            return False

    async def _take(self) -> bool:
        assert self._engine is not None
        connection = await self._engine.connect()
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ROBOT_LOCK_KEY}
        )
        if taken:
            self._connection = connection
            self.acquisitions += 1
            log.info("outbox: this relay paces the robot endpoints")
            return True
        await connection.close()
        return False

    async def close(self) -> None:
        """Release the lock (closing its connection does)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                log.debug("closing the robot lock connection failed", exc_info=True)


async def recent_robot_sends(
    session: AsyncSession, *, now: datetime, window_s: float
) -> dict[int, list[float]]:
    """Per robot endpoint, how many seconds ago each row of the last window was delivered.

    Each row counts as one message, although a digest carried several in one: the outbox keeps
    no record of which rows went together, and over-counting only makes the new pacer wait
    (at most one window) where under-counting would get the robot blocked.
    """
    since = now - timedelta(seconds=window_s)
    rows = await session.execute(
        select(OutboxMessage.endpoint_id, OutboxMessage.delivered_at).where(
            OutboxMessage.channel.in_(ROBOT_CHANNELS),
            OutboxMessage.delivered_at > since,
            OutboxMessage.endpoint_id.is_not(None),
        )
    )
    ages: dict[int, list[float]] = {}
    for endpoint_id, delivered_at in rows:
        if endpoint_id is not None and delivered_at is not None:
            ages.setdefault(endpoint_id, []).append((now - delivered_at).total_seconds())
    return ages
