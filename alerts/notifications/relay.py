"""The outbox relay: delivers committed notifications, with retries, to every channel.

``Relay`` is an async context manager owning two named tasks in one ``asyncio.TaskGroup``:
``outbox-relay`` (claim due rows in small batches, deliver them concurrently, settle each)
and ``outbox-mqtt`` (one long-lived broker connection with reconnects). Any number of
relays, in any number of processes, may run against the same database.

Delivery is at least once: a relay that dies after sending but before marking the row
leaves it to be sent again once its lease expires. Every delivery carries the row's
idempotency key (``Idempotency-Key`` header, ``id`` in the JSON) so receivers drop repeats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner
from alerts.errors import DeliveryError
from alerts.notifications.channels.dingtalk import send_dingtalk
from alerts.notifications.channels.mqtt import MqttPublisher
from alerts.notifications.channels.webhook import send_webhook
from alerts.notifications.channels.wecom import send_wecom
from alerts.notifications.leases import (
    Claimed,
    Target,
    claim,
    mark_delivered,
    mark_failed,
    targets_of,
)
from core.backoff import retry_delay
from core.clock import Clock, utcnow
from core.mqtt import BrokerAddress, broker_address
from core.settings import Settings
from sensors.contract import team_workorders_topic
from storage.relational.outbox_models import Channel, EndpointKind

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 500


@dataclass(slots=True)
class RelayStats:
    """Counters of one relay since it started (for /metrics and tests)."""

    claimed: int = 0  # rows leased
    delivered: int = 0  # rows the destination acknowledged
    retried: int = 0  # failed attempts scheduled for another try
    dead: int = 0  # rows given up on
    lost_leases: int = 0  # rows another relay took over before we could settle them
    loop_errors: int = 0  # claim or settle failures (database away, …)


class Relay(LoopOwner):
    """Outbox delivery for one process; use as ``async with Relay(...) as relay``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        broker: BrokerAddress | None = None,
        clock: Clock = utcnow,
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
        self._mqtt = MqttPublisher(
            broker or broker_address(settings), next_delay=self._reconnect_delay
        )
        self._http: httpx.AsyncClient | None = None
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
                    for row in claimed:
                        target = targets.get(row.endpoint_id) if row.endpoint_id else None
                        task = asyncio.create_task(
                            self._deliver_one(row, target, token), name=f"outbox-{row.key}"
                        )
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                if len(claimed) == free and free > 0:
                    continue  # a full claim: more may be due already
                await self._idle(settings.outbox_poll_interval_s, inflight)
        finally:
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.wait(inflight)

    async def _idle(self, seconds: float, inflight: set[asyncio.Task[None]]) -> None:
        """Wait for the poll interval or, when all slots are busy, until one is free."""
        if len(inflight) >= self._settings.outbox_batch_size:
            await asyncio.wait(inflight, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(seconds)

    async def _claim(self, limit: int) -> tuple[Sequence[Claimed], dict[int, Target], str]:
        token = secrets.token_hex(16)
        async with self._sessions.begin() as session:
            rows = await claim(
                session,
                now=self._clock(),
                lease_s=self._settings.outbox_lease_s,
                limit=limit,
                token=token,
            )
            targets = await targets_of(session, rows) if rows else {}
        self.stats.claimed += len(rows)
        return rows, targets, token

    async def _deliver_one(self, row: Claimed, target: Target | None, token: str) -> None:
        error: DeliveryError | None = None
        try:
            await self._send(row, target)
        except DeliveryError as exc:
            error = exc
        except (httpx.HTTPError, OSError) as exc:
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("outbox: unexpected failure delivering %s", row.key)
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        try:
            await self._settle(row, token, error)
        except Exception:
            self.stats.loop_errors += 1
            log.exception("outbox: could not settle %s; its lease will expire", row.key)

    async def _send(self, row: Claimed, target: Target | None) -> None:
        timeout_s = self._settings.outbox_http_timeout_s
        if row.channel == Channel.MQTT:
            if row.team_id is None:
                raise DeliveryError("MQTT row without a team", permanent=True)
            topic = team_workorders_topic(row.team_id, self._settings.mqtt_prefix)
            await self._mqtt.publish(topic, row.payload.encode("utf-8"), timeout_s=timeout_s)
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
                body=row.payload.encode("utf-8"),
                timestamp=int(now.timestamp()),
            )
        elif target.kind == EndpointKind.WECOM:
            payload = json.loads(row.payload)
            await send_wecom(self._http, url=target.url, key=row.key, payload=payload)
        elif target.kind == EndpointKind.DINGTALK:
            await send_dingtalk(
                self._http,
                url=target.url,
                secret=target.secret,
                key=row.key,
                payload=json.loads(row.payload),
                timestamp_ms=int(now.timestamp() * 1000),
            )
        else:
            raise DeliveryError(f"unknown endpoint kind {target.kind!r}", permanent=True)

    async def _settle(self, row: Claimed, token: str, error: DeliveryError | None) -> None:
        settings = self._settings
        now = self._clock()
        async with self._sessions.begin() as session:
            if error is None:
                kept = await mark_delivered(session, row, token=token, now=now)
            else:
                attempt = row.attempts + 1
                give_up = error.permanent or attempt >= settings.outbox_max_attempts
                retry_at = None
                if not give_up:
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
            self.stats.lost_leases += 1
            log.warning("outbox: lease on %s expired before it was settled", row.key)
        elif error is None:
            self.stats.delivered += 1
        elif retry_at is None:
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
