"""Readiness checks: the relational store (answering, at the code's schema revision), the
time-series store and any injected probes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from api.resources import AppResources
from storage.relational.migrate import head_revisions, schema_is_current

log = logging.getLogger(__name__)

DATABASE_CHECK = "database"
TIMESERIES_CHECK = "timeseries"


class CheckState(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One named check and how it went."""

    name: str
    state: CheckState

    @property
    def passed(self) -> bool:
        """True when the dependency answered."""
        return self.state is CheckState.OK


async def _run_check(
    name: str, check: Callable[[], Awaitable[bool]], timeout_s: float
) -> CheckResult:
    try:
        async with asyncio.timeout(timeout_s):
            answered = await check()
    except TimeoutError:
        log.warning("readiness check %s gave no answer within %.1f s", name, timeout_s)
        return CheckResult(name, CheckState.TIMEOUT)
    except Exception:
        # A probe that raises is a dependency that is not ready; keep the reason in the log.
        log.warning("readiness check %s raised", name, exc_info=True)
        return CheckResult(name, CheckState.ERROR)
    return CheckResult(name, CheckState.OK if answered else CheckState.FAILED)


async def run_checks(resources: AppResources) -> list[CheckResult]:
    """Every readiness check, run concurrently, each bounded by FM_READINESS_TIMEOUT_S."""

    async def database_answers_migrated() -> bool:
        # Answering is not enough: on a schema behind the code every query would fail (503).
        async with resources.sessions() as session:
            connection = await session.connection()
            current = await connection.run_sync(schema_is_current)
        if not current:
            log.warning(
                "readiness: the relational schema is not at revision %s; run `fm db upgrade`",
                ", ".join(head_revisions()),
            )
        return current

    checks: list[tuple[str, Callable[[], Awaitable[bool]]]] = [
        (DATABASE_CHECK, database_answers_migrated)
    ]
    if resources.timeseries is not None:
        checks.append((TIMESERIES_CHECK, resources.timeseries.ping))
    checks.extend((probe.name, probe.check) for probe in resources.readiness)
    timeout_s = resources.settings.readiness_timeout_s
    return list(await asyncio.gather(*(_run_check(n, c, timeout_s) for n, c in checks)))
