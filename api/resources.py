"""What the running app holds: settings, site, stores, clock and readiness probes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.settings import Settings
from governance.model import Site
from storage.tsdb.port import TimeSeriesStore


@runtime_checkable
class ReadinessProbe(Protocol):
    """An extra /readyz check (e.g. the gateway's broker connection)."""

    name: str

    async def check(self) -> bool:
        """True when the dependency answers."""
        ...


@dataclass(frozen=True, slots=True)
class AppResources:
    """Everything the request handlers need, built once by the lifespan."""

    settings: Settings
    site: Site
    sessions: async_sessionmaker[AsyncSession]
    timeseries: TimeSeriesStore | None
    readiness: Sequence[ReadinessProbe]
    clock: Clock
