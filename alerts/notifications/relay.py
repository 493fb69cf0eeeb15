"""The outbox relay: delivers committed notifications, with retries, to every channel.

``Relay`` is an async context manager owning two named tasks in one ``asyncio.TaskGroup``:
``outbox-relay`` (claim due rows in small batches, deliver them concurrently, settle each)
and ``outbox-mqtt`` (one long-lived broker connection with reconnects). Any number of
relays, in any number of processes, may run against the same database.

Delivery is at least once: a relay that dies after sending but before marking the row
leaves it to be sent again once its lease expires. Every delivery carries the row's
idempotency key (``Idempotency-Key`` header, ``id`` in the JSON) so receivers drop repeats.

WeCom and DingTalk robots are paced per endpoint (``alerts.notifications.pacing``): rows beyond
a robot's budget fold into one digest naming every order, or wait in the outbox for a slot, and
a robot's "too fast" answer backs off that endpoint only, never counting as a failed attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner
from alerts.errors import DeliveryError, EndpointThrottledError
from alerts.notifications.channels.dingtalk import send_dingtalk
from alerts.notifications.channels.mqtt import MqttPublisher
from alerts.notifications.channels.webhook import send_webhook
from alerts.notifications.channels.wecom import send_wecom
from alerts.notifications.leases import (
    Claimed,
    Target,
    claim,
    hold_back,
    mark_delivered,
    mark_failed,
    targets_of,
)
from alerts.notifications.pacing import (
    Delivery,
    EndpointLimiter,
    HeldBack,
    MonotonicClock,
    fold,
    message_of,
    plan,
)
from alerts.notifications.robot_lock import RobotPacerLock, recent_robot_sends
from alerts.notifications.wording.compose import Wording
from core.backoff import retry_delay
from core.clock import Clock, utcnow
from core.mqtt import BrokerAddress, broker_address
from core.settings import Settings
from governance.model import Site
from sensors.contract import team_workorders_topic
from storage.relational.outbox_models import Channel, EndpointKind, Language

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 500


class _Outcome(Enum):
    DELIVERED = "delivered"
    RETRIED = "retried"
    DEAD = "dead"
    LOST = "lost"  # the lease went to another relay before this one settled the row


@dataclass(slots=True)
class RelayStats:
    """Counters of one relay since it started (for /metrics and tests)."""

    claimed: int = 0  # rows leased
    delivered: int = 0  # rows the destination acknowledged
    retried: int = 0  # failed attempts scheduled for another try
    dead: int = 0  # rows given up on
    lost_leases: int = 0  # rows another relay took over before we could settle them
    loop_errors: int = 0  # claim or settle failures (database away, …)
    digests_sent: int = 0  # robot messages that folded several rows into one
    folded: int = 0  # rows delivered inside a digest (also counted in ``delivered``)
    rate_limited: int = 0  # rows held back because their robot's window was full
    robot_backoffs: int = 0  # "too fast" answers, each backing off that robot's endpoint


class Relay(LoopOwner):
    """Outbox delivery for one process; use as ``async with Relay(...) as relay``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        broker: BrokerAddress | None = None,
        site: Site | None = None,
        clock: Clock = utcnow,
        monotonic: MonotonicClock = time.monotonic,
    ) -> None:
        if settings.outbox_lease_s <= settings.outbox_http_timeout_s:
            # A lease shorter than one attempt would hand rows to a second relay mid-send.
            raise ValueError(
                f"FM_OUTBOX_LEASE_S ({settings.outbox_lease_s}) must exceed "
                f"FM_OUTBOX_HTTP_TIMEOUT_S ({settings.outbox_http_timeout_s})"
            )
        self.stats = RelayStats()
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        # Names and addresses for the words of every message, when the site is known.
        self._wording = Wording(site=site, public_url=settings.effective_public_url)
        self._limiter = EndpointLimiter(
            max_per_window=settings.robot_max_per_window,
            window_s=settings.robot_window_s,
            clock=monotonic,
        )
        self._mqtt = MqttPublisher(
            broker or broker_address(settings), next_delay=self._reconnect_delay
        )
        self._http: httpx.AsyncClient | None = None
        self._robots = RobotPacerLock(sessions.kw.get("bind"), recheck_s=settings.robot_window_s)
        self._robot_windows_from = 0  # the lock acquisition the robot windows were seeded for
        self._loops = BackgroundLoops("Relay")

    # Public surface ----------------------------------------------------------------------------

    @property
    def mqtt_connected(self) -> bool:
        """True while the MQTT channel is connected (for ``/readyz``)."""
        return self._mqtt.connected

    async def __aenter__(self) -> Relay:
        self._http = httpx.AsyncClient(
            timeout=self._settings.outbox_http_timeout_s, follow_redirects=False
        )
        self._loops.start({"outbox-mqtt": self._mqtt.run, "outbox-relay": self._relay})
        return self

    async def _after_loops(self) -> None:
        # Rows being delivered at this moment keep their lease and are retried when it expires.
        assert self._http is not None
        await self._http.aclose()
        await self._robots.close()

    # The loop ----------------------------------------------------------------------------------

    async def _relay(self) -> None:
        settings = self._settings
        # Deliveries run side by side, up to one batch in flight: a slow endpoint delays only
        # its own rows, and a free slot is refilled without waiting for the rest.
        inflight: set[asyncio.Task[None]] = set()
        failures = 0
        try:
            while True:
                free = settings.outbox_batch_size - len(inflight)
                claimed: Sequence[Claimed] = ()
                if free > 0:
                    try:
                        claimed, targets, token = await self._claim(free)
                        failures = 0
                    except Exception:
                        failures += 1
                        self.stats.loop_errors += 1
                        delay = self._reconnect_delay(failures)
                        log.exception("outbox: claiming failed; retrying in %.2fs", delay)
                        await asyncio.sleep(delay)
                        continue
                    work = plan(
                        claimed,
                        targets,
                        self._limiter,
                        fold=lambda target, rows: fold(target, rows, self._wording),
                        in_flight_s=settings.outbox_http_timeout_s,
                    )
                    for delivery in work.deliveries:
                        self._spawn(inflight, self._deliver(delivery, token), delivery.key)
                    for held in work.held_back:
                        self._spawn(inflight, self._hold_back(held, token), "held-back")
                if len(claimed) == free and free > 0:
                    continue  # a full claim: more may be due already
                await self._idle(settings.outbox_poll_interval_s, inflight)
        finally:
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.wait(inflight)

    @staticmethod
    def _spawn(
        inflight: set[asyncio.Task[None]], work: Coroutine[Any, Any, None], name: str
    ) -> None:
        task = asyncio.create_task(work, name=f"outbox-{name}")
        inflight.add(task)
        task.add_done_callback(inflight.discard)

    async def _idle(self, seconds: float, inflight: set[asyncio.Task[None]]) -> None:
        """Wait for the poll interval or, when all slots are busy, until one is free."""
        if len(inflight) >= self._settings.outbox_batch_size:
            await asyncio.wait(inflight, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(seconds)

    async def _claim(self, limit: int) -> tuple[Sequence[Claimed], dict[int, Target], str]:
        token = secrets.token_hex(16)
        robots = await self._robots.held()
        if robots and self._robots.acquisitions != self._robot_windows_from:
            await self._take_over_robot_windows()
        async with self._sessions.begin() as session:
            rows = await claim(
                session,
                now=self._clock(),
                lease_s=self._settings.outbox_lease_s,
                limit=limit,
                token=token,
                robots=robots,
            )
            targets = await targets_of(session, rows) if rows else {}
        self.stats.claimed += len(rows)
        return rows, targets, token

    async def _take_over_robot_windows(self) -> None:
        """This relay now paces the robots: continue the windows another relay had filled."""
        async with self._sessions() as session:
            recent = await recent_robot_sends(
                session, now=self._clock(), window_s=self._settings.robot_window_s
            )
        for endpoint_id, ages in recent.items():
            self._limiter.seed(endpoint_id, ages)
        self._robot_windows_from = self._robots.acquisitions

    async def _deliver(self, delivery: Delivery, token: str) -> None:
        error: DeliveryError | None = None
        try:
            await self._send(delivery)
        except DeliveryError as exc:
            error = exc
        except (httpx.HTTPError, OSError) as exc:
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("outbox: unexpected failure delivering %s", delivery.key)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        finally:
            if delivery.paced_endpoint is not None:
                self._limiter.finished(delivery.paced_endpoint)
        try:
            if isinstance(error, EndpointThrottledError) and delivery.paced_endpoint is not None:
                await self._back_off(delivery, delivery.paced_endpoint, token, error)
            else:
                await self._settle(delivery, token, error)
        except Exception:
            self.stats.loop_errors += 1
            log.exception("outbox: could not settle %s; its lease will expire", delivery.key)

    async def _back_off(
        self, delivery: Delivery, endpoint_id: int, token: str, error: DeliveryError
    ) -> None:
        """The robot said "too fast": pause the endpoint; the rows wait, no attempt counted."""
        backoff_s = self._settings.robot_throttle_backoff_s
        self._limiter.back_off(endpoint_id, backoff_s)
        self.stats.robot_backoffs += 1
        log.warning(
            "outbox: endpoint %d asked to slow down; pausing it %.0fs", endpoint_id, backoff_s
        )
        until = self._clock() + timedelta(seconds=backoff_s)
        note = str(error)[:_MAX_ERROR_CHARS]
        async with self._sessions.begin() as session:
            kept = await hold_back(session, delivery.rows, token=token, until=until, note=note)
        self.stats.lost_leases += len(delivery.rows) - kept

    async def _hold_back(self, held: HeldBack, token: str) -> None:
        """Rows beyond their robot's budget go back to the outbox until a slot frees."""
        until = self._clock() + timedelta(seconds=held.wait_s)
        try:
            async with self._sessions.begin() as session:
                kept = await hold_back(session, held.rows, token=token, until=until)
        except Exception:
            self.stats.loop_errors += 1
            log.exception(
                "outbox: could not hold back %d rows; their lease will expire", len(held.rows)
            )
            return
        self.stats.rate_limited += kept
        self.stats.lost_leases += len(held.rows) - kept

    async def _send(self, delivery: Delivery) -> None:
        timeout_s = self._settings.outbox_http_timeout_s
        row, target = delivery.rows[0], delivery.target
        if row.channel == Channel.MQTT:
            if row.team_id is None:
                raise DeliveryError("MQTT row without a team", permanent=True)
            topic = team_workorders_topic(row.team_id, self._settings.mqtt_prefix)
            body = self._in_words(row.payload, self._wording.default_language)
            await self._mqtt.publish(topic, body, timeout_s=timeout_s)
            return
        if target is None:
            raise DeliveryError("the endpoint was deleted", permanent=True)
        if not target.enabled:
            raise DeliveryError("the endpoint is disabled", permanent=True)
        assert self._http is not None
        now = self._clock()
        if target.kind == EndpointKind.WEBHOOK:
            await send_webhook(
                self._http,
                url=target.url,
                secret=target.secret,
                key=row.key,
                body=self._in_words(row.payload, self._wording.language(target.language)),
                timestamp=int(now.timestamp()),
            )
        elif target.kind == EndpointKind.WECOM:
            message = message_of(delivery, self._wording)
            await send_wecom(self._http, url=target.url, key=delivery.key, message=message)
        elif target.kind == EndpointKind.DINGTALK:
            await send_dingtalk(
                self._http,
                url=target.url,
                secret=target.secret,
                key=delivery.key,
                message=message_of(delivery, self._wording),
                timestamp_ms=int(now.timestamp() * 1000),
            )
        else:
            raise DeliveryError(f"unknown endpoint kind {target.kind!r}", permanent=True)

    def _in_words(self, payload: str, language: Language) -> bytes:
        """The stored JSON plus its words in ``language`` (title, text, names, link)."""
        enriched = self._wording.enriched(json.loads(payload), language)
        return json.dumps(enriched, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def _settle(self, delivery: Delivery, token: str, error: DeliveryError | None) -> None:
        """Mark every row of the delivery in one transaction: delivered, retried or dead."""
        now = self._clock()
        async with self._sessions.begin() as session:
            outcomes = [
                await self._settle_row(session, row, token, error, now) for row in delivery.rows
            ]
        if delivery.is_digest and error is None:
            self.stats.digests_sent += 1
            self.stats.folded += outcomes.count(_Outcome.DELIVERED)
        for row, outcome in zip(delivery.rows, outcomes, strict=True):
            self._count(row, outcome, error)

    async def _settle_row(
        self,
        session: AsyncSession,
        row: Claimed,
        token: str,
        error: DeliveryError | None,
        now: datetime,
    ) -> _Outcome:
        settings = self._settings
        if error is None:
            kept = await mark_delivered(session, row, token=token, now=now)
            return _Outcome.DELIVERED if kept else _Outcome.LOST
        attempt = row.attempts + 1
        retry_at = None
        if not (error.permanent or attempt >= settings.outbox_max_attempts):
            delay = retry_delay(
                attempt,
                initial_s=settings.outbox_backoff_initial_s,
                max_s=settings.outbox_backoff_max_s,
            )
            retry_at = now + timedelta(seconds=delay)
        message = str(error)[:_MAX_ERROR_CHARS]
        kept = await mark_failed(
            session, row, token=token, now=now, error=message, retry_at=retry_at
        )
        if not kept:
            return _Outcome.LOST
        return _Outcome.DEAD if retry_at is None else _Outcome.RETRIED

    def _count(self, row: Claimed, outcome: _Outcome, error: DeliveryError | None) -> None:
        attempt = row.attempts + 1
        if outcome is _Outcome.LOST:
            self.stats.lost_leases += 1
            log.warning("outbox: lease on %s expired before it was settled", row.key)
        elif outcome is _Outcome.DELIVERED:
            self.stats.delivered += 1
        elif outcome is _Outcome.DEAD:
            self.stats.dead += 1
            log.error("outbox: gave up on %s after %d attempts: %s", row.key, attempt, error)
        else:
            self.stats.retried += 1
            log.warning("outbox: attempt %d of %s failed (%s); retrying", attempt, row.key, error)

    def _reconnect_delay(self, failures: int) -> float:
        return retry_delay(
            failures,
            initial_s=self._settings.reconnect_initial_s,
            max_s=self._settings.reconnect_max_s,
        )
