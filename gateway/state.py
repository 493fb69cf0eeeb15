"""Rule and liveness state that survives a gateway restart: checkpoints in the relational store.

Each device's state (its rule engine snapshot and its liveness record) is one JSON row of
``gateway_state``. ``Checkpointer.checkpoint()`` writes only the rows that changed since the last
checkpoint, in one transaction; the gateway calls it every ``gateway_checkpoint_interval_s`` and
once more on a clean shutdown, and ``restore()`` loads the rows before the first message. A crash
loses at most one interval of *pending* conditions (counts and timers); raised faults were
checkpointed when they changed at most one interval earlier and are re-derived from the next
readings otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, utcnow
from core.event_codec import EventCodecError, decode_event
from core.events import BuildingEvent, EventSource
from gateway.errors import StateStoreError
from gateway.liveness import Liveness
from gateway.rules import RuleEngine
from storage.relational.detection_models import GatewayState
from storage.relational.inbox_models import InboxEvent
from storage.relational.models import Episode

DeviceState = dict[str, Any]


class StateStore(Protocol):
    """Where checkpoints go: a table in production, a dict in unit tests."""

    async def load(self) -> dict[str, DeviceState]:
        """Every saved device state."""
        ...

    async def save(
        self, changed: Mapping[str, str], removed: Collection[str], *, now: datetime
    ) -> None:
        """Upsert ``changed`` (device → JSON) and delete ``removed``, atomically."""
        ...

    async def open_faults(self) -> dict[str, set[str]]:
        """Fault codes with a committed, still open episode, by device (what alerts holds)."""
        ...


class SqlStateStore:
    """``gateway_state`` rows in the relational store (SQLite or PostgreSQL)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self) -> dict[str, DeviceState]:
        try:
            async with self._sessions() as session:
                rows = (await session.execute(select(GatewayState))).scalars().all()
        except SQLAlchemyError as exc:
            raise StateStoreError(str(exc), operation="load") from exc
        states: dict[str, DeviceState] = {}
        for row in rows:
            try:
                states[row.device_id] = json.loads(row.state)
            except ValueError:
                continue  # a corrupt row costs that device its history, nothing more
        return states

    async def save(
        self, changed: Mapping[str, str], removed: Collection[str], *, now: datetime
    ) -> None:
        try:
            async with self._sessions.begin() as session:
                if changed:
                    await session.execute(_upsert(session, changed, now))
                if removed:
                    await session.execute(
                        delete(GatewayState).where(GatewayState.device_id.in_(list(removed)))
                    )
        except SQLAlchemyError as exc:
            raise StateStoreError(str(exc), operation="save") from exc

    async def open_faults(self) -> dict[str, set[str]]:
        # Faults the rules raise or devices report; liveness keeps its own state.
        query = select(Episode.device_id, Episode.code).where(
            Episode.ended_at.is_(None), Episode.source != EventSource.LIVENESS.value
        )
        inbox = select(InboxEvent.payload).where(InboxEvent.failed_at.is_(None))
        try:
            async with self._sessions() as session:
                rows = (await session.execute(query)).all()
                pending = (await session.execute(inbox.order_by(InboxEvent.id))).scalars().all()
        except SQLAlchemyError as exc:
            raise StateStoreError(str(exc), operation="load") from exc
        faults: dict[str, set[str]] = {}
        for device_id, code in rows:
            faults.setdefault(device_id, set()).add(code)
        # Events committed to the inbox that `fm alerts` has not handled yet will open or end
        # episodes: what alerts holds is the open episodes with those applied in their order.
        for payload in pending:
            _apply_pending(faults, payload)
        return faults


def _apply_pending(faults: dict[str, set[str]], payload: str) -> None:
    try:
        event = decode_event(payload)
    except EventCodecError:
        return  # fm alerts sets an unreadable row aside; it will never hold a fault
    members = event.members if isinstance(event, BuildingEvent) else (event,)
    for member in members:
        if member.source == EventSource.LIVENESS:
            continue
        codes = faults.setdefault(member.device_id, set())
        if member.active:
            codes.add(member.code)
        else:
            codes.discard(member.code)


def _upsert(session: AsyncSession, changed: Mapping[str, str], now: datetime) -> Any:
    rows = [{"device_id": d, "state": s, "updated_at": now} for d, s in changed.items()]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(GatewayState).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[GatewayState.device_id],
        set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
    )


class MemoryStateStore:
    """A ``StateStore`` in a dict (tests, and gateways run without a database)."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.open: dict[str, set[str]] = {}  # stands in for open episodes
        self.saves = 0

    async def load(self) -> dict[str, DeviceState]:
        return {device_id: json.loads(state) for device_id, state in self.rows.items()}

    async def open_faults(self) -> dict[str, set[str]]:
        return {device_id: set(codes) for device_id, codes in self.open.items()}

    async def save(
        self, changed: Mapping[str, str], removed: Collection[str], *, now: datetime
    ) -> None:
        self.saves += 1
        self.rows.update(changed)
        for device_id in removed:
            self.rows.pop(device_id, None)


class Checkpointer:
    """Saves and restores the rule and liveness state of one gateway."""

    def __init__(
        self,
        *,
        rules: RuleEngine,
        liveness: Liveness,
        store: StateStore,
        devices: Collection[str],
        clock: Clock = utcnow,
    ) -> None:
        # Only these devices' rows are this gateway's (another partition owns the rest).
        self._devices = devices
        self._rules = rules
        self._liveness = liveness
        self._store = store
        self._clock = clock
        self._written: dict[str, str] = {}  # device → JSON last saved (or loaded)

    async def restore(self) -> int:
        """Load the saved state into the rule engine and liveness; how many devices had some."""
        states = {d: s for d, s in (await self._store.load()).items() if d in self._devices}
        self._rules.restore({d: s["rules"] for d, s in states.items() if s.get("rules")})
        self._liveness.restore({d: s["liveness"] for d, s in states.items() if s.get("liveness")})
        # A checkpoint may lag what alerts committed (it is written only once that is durable):
        # a fault whose raise committed after the last checkpoint is raised again here, so the
        # next healthy reading clears it rather than leaving its episode open.
        open_faults = await self._store.open_faults()
        self._rules.adopt_open({d: c for d, c in open_faults.items() if d in self._devices})
        self._written = {d: _dumps(s) for d, s in states.items()}
        return len(states)

    async def checkpoint(self) -> int:
        """Write what changed since the last checkpoint; how many rows were written or deleted."""
        return await self.save(self.take())

    def take(self) -> dict[str, str]:
        """The state as it is now, one JSON document per device, for ``save``.

        Taken apart from the write so that a caller can take it at a quiet moment and write it
        only once everything it reflects is durable elsewhere.
        """
        return {d: _dumps(s) for d, s in self.device_states().items()}

    async def save(self, current: dict[str, str]) -> int:
        """Write what in ``current`` differs from the last write; rows written or deleted."""
        changed = {d: s for d, s in current.items() if self._written.get(d) != s}
        removed = [d for d in self._written if d not in current]
        if not changed and not removed:
            return 0
        await self._store.save(changed, removed, now=self._clock())
        self._written = current
        return len(changed) + len(removed)

    def device_states(self) -> dict[str, DeviceState]:
        """Rule and liveness state per device, as saved."""
        rules = self._rules.snapshot()
        liveness = self._liveness.snapshot()
        return {
            device_id: {"rules": rules.get(device_id), "liveness": liveness.get(device_id)}
            for device_id in rules.keys() | liveness.keys()
        }


def _dumps(state: DeviceState) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))
