"""Start a Gateway against a test's Mosquitto with in-memory outputs (detection tests)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core.clock import Clock, utcnow
from core.events import AnyEvent, EventSink, OnCommitted
from core.settings import Settings
from gateway.service import Gateway
from gateway.state import StateStore
from governance.model import Site
from tests.gateway.fakes import ListSink, MemoryStore
from tests.gateway.waiting import DEADLINE_S
from tests.servers.mosquitto import MosquittoServer

FAST = {
    "tsdb_flush_interval_s": 0.02,
    "reconnect_initial_s": 0.05,
    "reconnect_max_s": 0.5,
    "liveness_sweep_interval_s": 0.02,
    "gateway_checkpoint_interval_s": 0.05,
}


class Tee:
    """An EventSink handing every event to several sinks in turn."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        for sink in self.sinks:
            await sink.publish(event)
        if on_committed is not None:
            on_committed()

    async def settled(self) -> None:
        """Every sink has settled."""
        for sink in self.sinks:
            await sink.settled()


@asynccontextmanager
async def running_gateway(
    mosquitto: MosquittoServer,
    site: Site,
    *,
    sink: EventSink | None = None,
    clock: Clock = utcnow,
    state_store: StateStore | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Gateway, ListSink]]:
    """A connected gateway; events go to a ListSink (and ``sink`` too when given)."""
    listed = ListSink()
    gateway = Gateway(
        settings=Settings(mqtt_url=mosquitto.url, **{**FAST, **settings}),
        site=site,
        store=MemoryStore(),
        sink=listed if sink is None else Tee(listed, sink),
        clock=clock,
        state_store=state_store,
    )
    async with gateway:
        await asyncio.wait_for(gateway.ready(), DEADLINE_S)
        yield gateway, listed


def telemetry(mosquitto: MosquittoServer, device_id: str, **payload: Any) -> None:
    """Publish one telemetry message (``metrics``, optional ``ts`` and ``seq``)."""
    mosquitto.publish(f"fm/{device_id}/telemetry", json.dumps(payload))
