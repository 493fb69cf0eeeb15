"""Issue 4 acceptance: a relay killed between commit and delivery loses nothing and
sends nothing twice — checked with a real local HTTP receiver and a real Mosquitto.

A relay runs in a child process against a webhook receiver and a broker that both hang
(they accept the connection and never answer), so it claims the committed rows and then sits
in the middle of delivering them. The test SIGKILLs it there: no cleanup, no release of its
leases. A fresh relay, its clock past the dead one's lease, then delivers each row to
the now-answering receiver and to Mosquitto exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.relay import Relay
from core.clock import utcnow
from governance.model import Site
from tests.alerts.conftest import LIGHT_RED
from tests.alerts.outbox_helpers import (
    FAST,
    MqttSubscriber,
    add_endpoint,
    commit_fault,
    make_settings,
    outbox,
    until,
)
from tests.alerts.receiver import HttpReceiver, StallListener
from tests.servers.mosquitto import MosquittoServer

ROOT = Path(__file__).resolve().parents[2]
#: The doomed relay waits this long on its hung receivers: far longer than the test.
HUNG_TIMEOUT_S = 120.0
LEASE_S = 300.0

_CHILD = """
import asyncio
from core.settings import Settings
from alerts.notifications.relay import Relay
from storage.relational.db import create_engine, session_factory

async def main() -> None:
    settings = Settings()
    sessions = session_factory(create_engine(settings.effective_database_url))
    async with Relay(sessions=sessions, settings=settings):
        await asyncio.Event().wait()

asyncio.run(main())
"""


def _start_child(database_url: str, broker_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FM_")}
    timings = {**FAST, "outbox_http_timeout_s": HUNG_TIMEOUT_S, "outbox_lease_s": LEASE_S}
    env.update({f"FM_{name.upper()}": str(value) for name, value in timings.items()})
    env["FM_DATABASE_URL"] = database_url
    env["FM_MQTT_URL"] = f"mqtt://127.0.0.1:{broker_port}"
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )


@pytest.mark.integration
async def test_killed_between_commit_and_delivery_delivers_exactly_once_after_restart(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    database_url: str,
    mosquitto: MosquittoServer,
) -> None:
    subscriber = MqttSubscriber(mosquitto.host, mosquitto.port, "fm/teams/+/workorders")
    try:
        async with StallListener() as hung_receiver, StallListener() as hung_broker:
            hook = f"http://127.0.0.1:{hung_receiver.port}/hook"
            await add_endpoint(sessions, url=hook, secret="s3cret-for-the-crash-test")
            change = await commit_fault(sessions, site, LIGHT_RED, "lamp_failure")
            # Committed: the order change and its notifications are in the database.
            to_deliver = [r for r in await outbox(sessions) if r.channel != "sse"]
            assert {r.channel for r in to_deliver} == {"webhook", "mqtt"}

            child = _start_child(database_url, hung_broker.port)
            try:

                async def claimed_by_child() -> bool:
                    held = [r for r in await outbox(sessions) if r.channel != "sse"]
                    return all(r.claim_token is not None for r in held)

                await until(claimed_by_child, "the child relay to claim both rows")
                await until(lambda: hung_receiver.connections > 0, "the child's POST to hang")
                assert child.poll() is None, child.stderr.read() if child.stderr else ""
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait()
                if child.stderr is not None:
                    child.stderr.close()
            assert child.returncode == -signal.SIGKILL
            port = hung_receiver.port

        pending = [r for r in await outbox(sessions) if r.channel != "sse"]
        assert {(r.state, r.attempts, r.delivered_at) for r in pending} == {("pending", 0, None)}

        # Restart: a new relay on the same database, after the dead one's lease expired.
        async with HttpReceiver(port=port) as receiver:
            settings = make_settings(database_url, mqtt_url=mosquitto.url)

            def after_lease() -> datetime:
                return utcnow() + timedelta(seconds=LEASE_S + 1)

            async with Relay(sessions=sessions, settings=settings, clock=after_lease):

                async def all_delivered() -> bool:
                    left = [r for r in await outbox(sessions) if r.channel != "sse"]
                    return all(r.state == "delivered" for r in left)

                await until(all_delivered, "both rows delivered after the restart")
                await until(lambda: subscriber.received(), "the MQTT notification")
        rows = {r.channel: r for r in await outbox(sessions)}
        assert [r.headers["idempotency-key"] for r in receiver.requests] == [
            rows["webhook"].idempotency_key
        ]
        assert receiver.requests[0].json()["order_id"] == change.order_id
        published = [json.loads(payload)["id"] for _, payload in subscriber.received()]
        assert published == [rows["mqtt"].idempotency_key]
        assert Counter(r.attempts for r in (rows["webhook"], rows["mqtt"])) == {1: 2}
    finally:
        subscriber.close()
