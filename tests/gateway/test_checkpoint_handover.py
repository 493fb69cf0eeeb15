"""A checkpoint never records a raise whose event has not reached the sink yet.

The message loop changes the rule state, then hands the events over; when the hand-over waits
(the alerts queue is full), a checkpoint taken in between would save "raised" for an event that
a crash then loses, and the redelivered message would be judged already raised."""

from __future__ import annotations

import asyncio
import json
import time

from core.events import AnyEvent, OnCommitted
from core.settings import Settings
from gateway.service import Gateway
from gateway.state import MemoryStateStore
from tests.gateway.fakes import ListSink, MemoryStore
from tests.gateway.sites import LIGHT, small_site
from tests.gateway.waiting import until

HELD_S = 0.2  # how long the test watches the checkpoint stay blocked


class GatedSink(ListSink):
    """A sink whose hand-over waits until the test opens the gate, as a full queue does."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = False

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        self.waiting = True
        await self.gate.wait()
        await super().publish(event, on_committed=on_committed)


async def test_a_checkpoint_waits_for_the_hand_over_of_the_state_it_would_save() -> None:
    sink, states = GatedSink(), MemoryStateStore()
    gateway = Gateway(
        settings=Settings(mqtt_url="mqtt://127.0.0.1:1883"),
        site=small_site(),
        store=MemoryStore(),
        sink=sink,
        state_store=states,
    )
    report = {"ts": time.time(), "code": "short_circuit", "active": True}
    handling = asyncio.create_task(gateway.handle(f"fm/{LIGHT}/event", json.dumps(report).encode()))
    await until(lambda: sink.waiting, "the raise to wait at the sink")

    checkpoint = asyncio.create_task(gateway.checkpoint())
    done, _ = await asyncio.wait({checkpoint}, timeout=HELD_S)
    assert not done, "a checkpoint saved a raise whose event had not reached the sink"
    assert states.saves == 0

    sink.gate.set()
    await handling
    assert await checkpoint == 1
    assert [e.code for e in sink.events] == ["short_circuit"]
    assert json.loads(states.rows[LIGHT])["rules"]["faults"]["short_circuit"]["active"]
