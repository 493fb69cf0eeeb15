"""The gateway: MQTT in, validated telemetry to the time-series store, device events to a sink.

``Gateway`` is an async context manager owning three named tasks in one ``asyncio.TaskGroup``:
``gateway-mqtt`` (connect, subscribe, decode, rules, liveness; reconnects with jittered
exponential backoff), ``gateway-writer`` (batched store writes), ``gateway-liveness`` (the
silence sweep and the end of reorder waits) and, with a state store, ``gateway-checkpoint``.
Rule and liveness state live in the gateway object, so they survive reconnects; checkpoints
(gateway/state.py) carry them across restarts. Device events go to the sink as they happen:
root-cause grouping holds only pages, on the alerts side (alerts/orders/grouping.py), so a
device's state is never held here.
Every message is handled inside its own ``try``: a bad payload or a failing sink is counted and
logged, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType

import aiomqtt

from core.backoff import Backoff
from core.clock import Clock, utcnow
from core.events import DeviceEvent, EventSink
from core.mqtt import broker_address
from core.settings import Settings
from gateway.acks import BrokerAcks, Receipt
from gateway.connection import as_bytes, persistent_client
from gateway.decode import Decoder, DeviceReport, Reading, Rejection, StatusReport
from gateway.errors import StateStoreError
from gateway.liveness import Liveness
from gateway.logsafe import printable
from gateway.ordering import ReorderBuffer, SequenceRule
from gateway.partition import Partition, subscription_chunks
from gateway.rejections import record_drops, record_rejection
from gateway.rules import RuleEngine
from gateway.spool import PointSpool
from gateway.state import Checkpointer, StateStore
from gateway.stats import GatewayStats
from gateway.writer import TelemetryWriter
from governance.model import Site
from storage.tsdb.port import TimeSeriesStore

log = logging.getLogger(__name__)

SUBSCRIBE_QOS = 1
_NO_EVENTS: tuple[DeviceEvent, ...] = ()


class Gateway:
    """MQTT ingestion for one site; use as ``async with Gateway(...) as gateway``."""

    def __init__(
        self,
        *,
        settings: Settings,
        site: Site,
        store: TimeSeriesStore,
        sink: EventSink,
        clock: Clock = utcnow,
        state_store: StateStore | None = None,
        spool: PointSpool | None = None,
        partition: Partition | None = None,
    ) -> None:
        # A partition's gateway knows only its own devices: others' messages never reach it.
        self._partition = partition or Partition(1, 1)
        site = self._partition.of_site(site)
        self._site = site
        self.stats = GatewayStats()
        self._settings = settings
        self._sink = sink
        self._clock = clock
        self._broker = broker_address(settings)
        self._decoder = Decoder.from_settings(settings, site)
        self._rules = RuleEngine(site, sequence=SequenceRule.from_settings(settings))
        self._liveness = Liveness(site=site, clock=clock)
        self._reorder = ReorderBuffer(window_s=settings.reorder_window_s)
        self._checkpointer = (
            None
            if state_store is None
            else Checkpointer(
                rules=self._rules,
                liveness=self._liveness,
                store=state_store,
                devices=site.devices,
                clock=clock,
            )
        )
        self._writer = TelemetryWriter.from_settings(
            settings, store=store, stats=self.stats, spool=spool
        )
        self._acks = BrokerAcks(self.stats)
        self._subscribed = asyncio.Event()
        self._connected = False
        # Held from a state change to the hand-over of the events it caused (message loop and
        # sweep), and by a checkpoint while it takes the state: so each device's events stay in
        # order, and no checkpoint sees a raise whose event has not reached the sink yet.
        self._handover = asyncio.Lock()
        self._running: AsyncExitStack | None = None
        self._entered = False

    # Public surface ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while connected to the broker and subscribed (for ``/readyz``)."""
        return self._connected

    @property
    def rules(self) -> RuleEngine:
        """The fault-rule state (``snapshot()`` / ``restore()``)."""
        return self._rules

    @property
    def liveness(self) -> Liveness:
        """The online/offline state of the devices."""
        return self._liveness

    async def checkpoint(self) -> int:
        """Save the rule and liveness state (no-op without a state store); rows written.

        The state saved is never ahead of what is durable: it is taken now and written once
        every event published before it is committed and every point queued before it written
        (a redelivered message the saved state had already seen would be dropped as stale).
        """
        if self._checkpointer is None:
            return 0
        async with self._handover:
            state = self._checkpointer.take()
            position = self._writer.appended
        await self._sink.settled()
        await self._writer.written_through(position)
        written = await self._checkpointer.save(state)
        self.stats.checkpoints += 1
        return written

    async def ready(self) -> None:
        """Return once the gateway is connected and subscribed (again, after a reconnect)."""
        await self._subscribed.wait()

    async def __aenter__(self) -> Gateway:
        if self._entered:
            raise RuntimeError("a Gateway can be entered only once")
        self._entered = True
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self._run())
            # Entered without error: keep it running until __aexit__.
            self._running = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()

    @asynccontextmanager
    async def _run(self) -> AsyncIterator[None]:
        """Restore the state, run the named tasks while the body runs, then stop in order."""
        await self._restore()
        async with asyncio.TaskGroup() as tasks:
            writer = tasks.create_task(self._writer.run(), name="gateway-writer")
            loops = [
                tasks.create_task(self._ingest(), name="gateway-mqtt"),
                tasks.create_task(self._sweep(), name="gateway-liveness"),
            ]
            if self._checkpointer is not None:
                loops.append(tasks.create_task(self._checkpoints(), name="gateway-checkpoint"))
            try:
                yield
            finally:
                # Stop taking messages first, then let the writer drain what was accepted.
                for task in loops:
                    task.cancel()
                await asyncio.wait(loops)
                await self._shut_down_cleanly()
                self._writer.close()
                await asyncio.wait({writer})
                self._connected = False
                log.info("gateway stopped: %s", self.stats.summary())

    async def _restore(self) -> None:
        if self._checkpointer is None:
            return
        try:
            restored = await self._checkpointer.restore()
        except StateStoreError:
            # Start anyway: alerts deduplicates re-raises of faults it already holds open.
            self.stats.checkpoint_errors += 1
            log.exception("could not restore the gateway state; starting fresh")
        else:
            log.info("restored rule and liveness state of %d devices", restored)

    async def _shut_down_cleanly(self) -> None:
        """Evaluate readings still held for ordering, then save the state."""
        try:
            async with self._handover:
                for event in self._evaluate(list(self._reorder.drain())):
                    await self._emit(event)
            # Bounded: with the relational store down, the older checkpoint stays (safe).
            async with asyncio.timeout(self._settings.alerts_drain_timeout_s):
                await self.checkpoint()
        except Exception:
            self.stats.checkpoint_errors += 1
            log.exception("could not save the gateway state on shutdown")

    # Message loop ------------------------------------------------------------------------------

    async def _ingest(self) -> None:
        settings = self._settings
        backoff = Backoff(initial_s=settings.reconnect_initial_s, max_s=settings.reconnect_max_s)
        chunks = subscription_chunks(self._site, self._partition, settings.mqtt_prefix)
        subscriptions = [[(topic, SUBSCRIBE_QOS) for topic in chunk] for chunk in chunks]
        broker = self._broker
        while True:
            try:
                client, paho = persistent_client(broker, settings.mqtt_client_id)
                async with client:
                    self._acks.connected(paho)
                    for chunk in subscriptions:
                        await client.subscribe(chunk)
                    self._on_subscribed()
                    backoff.reset()
                    async for message in client.messages:
                        payload = message.payload
                        if type(payload) is not bytes:
                            payload = as_bytes(payload)
                        receipt = (
                            self._acks.receipt(message.mid, message.qos) if message.qos else None
                        )
                        await self.handle(message.topic.value, payload, receipt)
            except aiomqtt.MqttError as exc:
                delay = backoff.next_delay()
                if self._connected:
                    self.stats.disconnects += 1
                    log.warning("lost the broker (%s); reconnecting in %.2fs", exc, delay)
                else:
                    self.stats.connect_failures += 1
                    log.warning(
                        "cannot reach the broker at %s:%s (%s); retrying in %.2fs",
                        broker.host,
                        broker.port,
                        exc,
                        delay,
                    )
            except Exception:  # a bug or an unexpected library error: back off, never die
                delay = backoff.next_delay()
                log.exception("MQTT loop failed; reconnecting in %.2fs", delay)
            finally:
                self._acks.disconnected()
                self._connected = False
                self._subscribed.clear()
            await asyncio.sleep(delay)

    def _on_subscribed(self) -> None:
        if self.stats.connects:
            self._liveness.grace()  # we were away, not the devices
        self.stats.connects += 1
        self._connected = True
        self._subscribed.set()
        log.info("subscribed to %s:%s", self._broker.host, self._broker.port)

    async def handle(self, topic: str, payload: bytes, receipt: Receipt | None = None) -> None:
        """Handle one message as received from the broker; nothing it contains can stop the loop.

        ``receipt`` (QoS 1) is released once the message's points and events are durable.
        Public so that tests and benchmarks can drive the whole intake in process.
        """
        self.stats.received += 1
        try:
            async with self._handover:
                try:
                    events = self._process(topic, payload, receipt)
                except Exception:
                    self.stats.handler_errors += 1
                    log.exception("failed to handle a message on %s", printable(topic))
                    return
                for event in events:
                    await self._emit(event, receipt)
        finally:
            if receipt is not None:
                receipt.release()

    def _process(
        self, topic: str, payload: bytes, receipt: Receipt | None = None
    ) -> tuple[DeviceEvent, ...]:
        now = self._clock().timestamp()
        decoded = self._decoder.decode(topic, payload, now)
        if type(decoded) is Rejection:
            record_rejection(self.stats, decoded)
            return _NO_EVENTS
        self.stats.accepted += 1
        if type(decoded) is Reading:
            self.stats.metrics_accepted += len(decoded.metrics)
            if decoded.dropped:
                record_drops(self.stats, decoded.device_id, decoded.dropped)
            back = self._liveness.seen(decoded.device_id, now)
            if self._reorder.enabled:
                released = self._evaluate(self._reorder.offer(decoded, now))
                return released if back is None else (back, *released)
            fired = self._rules.on_reading(decoded)
            self.stats.seq_resets = self._rules.seq_resets
            # A stale reading (older than one already judged) drives no rule, but it is still a
            # true measurement at its own time: it is stored (idempotently, keyed by its ts), so
            # a reading the broker delivers again out of order is never lost.
            self._writer.add(decoded, receipt)
            if fired is None:
                self.stats.stale += 1
                return _NO_EVENTS if back is None else (back,)
            return fired if back is None else (back, *fired)
        if type(decoded) is DeviceReport:
            back = self._liveness.seen(decoded.device_id, now)
            reported = self._rules.on_report(decoded)
            return tuple(e for e in (back, reported) if e is not None)
        if type(decoded) is StatusReport:
            if decoded.online:
                self._rules.on_online(decoded.device_id)
            change = self._liveness.status(decoded.device_id, online=decoded.online, ts=now)
            return _NO_EVENTS if change is None else (change,)
        raise TypeError(f"unexpected decoder result {decoded!r}")

    def _evaluate(self, readings: list[Reading]) -> tuple[DeviceEvent, ...]:
        """Rules over readings released by the reorder buffer, in their ``ts`` order."""
        events: list[DeviceEvent] = []
        for reading in readings:
            fired = self._rules.on_reading(reading)
            self.stats.seq_resets = self._rules.seq_resets
            self._writer.add(reading)
            if fired is None:
                self.stats.stale += 1
                continue
            events.extend(fired)
        return tuple(events)

    async def _emit(self, event: DeviceEvent, receipt: Receipt | None = None) -> None:
        """One device event to the sink, acknowledged to the broker once it is committed.

        The caller holds ``_handover`` from the state change that caused the event.
        """
        on_committed = None
        if receipt is not None:
            receipt.hold()
            on_committed = receipt.release
        try:
            await self._sink.publish(event, on_committed=on_committed)
        except Exception:
            # A sink that raises has a bug; the message is acknowledged rather than left
            # to block the broker's in-flight window, and the loss is counted and logged.
            if receipt is not None:
                receipt.release()
            self.stats.sink_errors += 1
            log.exception("event sink failed on %r", event)
        else:
            self.stats.events_emitted += 1

    # Liveness sweep ----------------------------------------------------------------------------

    async def _sweep(self) -> None:
        interval = self._settings.liveness_sweep_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._handover:
                    now = self._clock().timestamp()
                    events = list(self._evaluate(list(self._reorder.due(now))))
                    # Silence while cut off from the broker says nothing about the devices.
                    if self._connected:
                        events.extend(self._liveness.sweep())
                    for event in events:
                        await self._emit(event)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("liveness sweep failed")

    async def _checkpoints(self) -> None:
        interval = self._settings.gateway_checkpoint_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.checkpoint()
            except Exception:
                self.stats.checkpoint_errors += 1
                log.exception("gateway state checkpoint failed")
