"""`fm broker-config` output run by a real Mosquitto: who may connect, publish and read what."""

from __future__ import annotations

import asyncio
import csv
import getpass
import json
import os
import queue
import signal
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from core.settings import BUNDLED_SITE
from fm.broker_config import BrokerLayout, write_broker_config
from fm.broker_config.files import DEFAULT_LIMITS
from governance.loader import load_site
from governance.model import Site
from sensors.contract import team_workorders_topic, telemetry_topic
from tests.e2e.helpers import eventually, start_fm
from tests.servers.mosquitto import MosquittoServer
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

WAIT_S = 10.0
GATEWAY_START_S = 40.0
PREFIX = "fm"
SMOKE = json.dumps(
    {
        "metrics": {
            "temp_c": 30,
            "smoke": True,
            "power_w": 1000,
            "ports_in_use": 1,
            "ports_faulted": 0,
            "breaker_on": True,
        }
    }
)


@dataclass(frozen=True, slots=True)
class SecuredBroker:
    """A Mosquitto started on the generated config, and the passwords it was given."""

    server: MosquittoServer
    passwords: dict[str, str]
    site: Site


class Client:
    """A paho MQTT v5 client whose broker answers arrive on one queue, in order."""

    def __init__(self, broker: SecuredBroker, username: str | None, password: str | None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._paho = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{username}", protocol=mqtt.MQTTv5
        )
        if username is not None:
            self._paho.username_pw_set(username, password)
        self._paho.on_connect = lambda _c, _u, _f, code, _p: self.events.put(("connack", code))
        self._paho.on_subscribe = lambda _c, _u, _m, codes, _p: self.events.put(("suback", codes))
        self._paho.on_publish = lambda _c, _u, _m, code, _p: self.events.put(("puback", code))
        self._paho.on_message = lambda _c, _u, msg: self.events.put(("message", msg.topic))
        self._paho.connect(broker.server.host, broker.server.port)
        self._paho.loop_start()

    def next(self, kind: str) -> Any:
        """The next broker answer, which must be of ``kind``."""
        got_kind, value = self.events.get(timeout=WAIT_S)
        assert got_kind == kind, f"expected {kind}, got {got_kind}: {value}"
        return value

    def connack(self) -> ReasonCode:
        """The broker's answer to CONNECT."""
        code: ReasonCode = self.next("connack")
        return code

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        self._paho.subscribe(topic, qos=1)
        self.next("suback")

    def publish(self, topic: str) -> ReasonCode:
        """Publish at QoS 1; the broker's PUBACK reason code (fails if a message comes first)."""
        self._paho.publish(topic, b"{}", qos=1)
        code: ReasonCode = self.next("puback")
        return code

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._paho.disconnect()
        self._paho.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecuredBroker]:
    """Mosquitto on `fm broker-config` output for the bundled site, on a free loopback port."""
    site = load_site(BUNDLED_SITE)
    out = tmp_path / "broker"
    layout = BrokerLayout(
        persistence_dir=str(tmp_path),
        limits=replace(DEFAULT_LIMITS, port=free_port(), bind=MosquittoServer.host),
    )
    files = write_broker_config(site, out, prefix=PREFIX, layout=layout)
    server = MosquittoServer(tmp_path, layout.limits.port)
    # The generated config as is, plus a log file for failure messages and, under root, the
    # user to stay (Mosquitto would otherwise switch to "mosquitto" and lose the tmp dir).
    extra = [f"log_dest file {server.log}", "connection_messages true"]
    if os.geteuid() == 0:
        extra.append(f"user {getpass.getuser()}")
    files.conf.write_text(files.conf.read_text() + "\n".join(extra) + "\n")
    server.config = files.conf
    with files.credentials.open(newline="") as handle:
        passwords = {row["username"]: row["password"] for row in csv.DictReader(handle)}
    server.start()
    try:
        yield SecuredBroker(server, passwords, site)
    finally:
        server.stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """Clients a test opens, closed at its end."""
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()


def connect(broker: SecuredBroker, clients: list[Client], username: str) -> Client:
    """A client logged in with ``username``'s generated password; fails unless accepted."""
    client = Client(broker, username, broker.passwords[username])
    clients.append(client)
    code = client.connack()
    assert not code.is_failure, f"{username} refused: {code}\n{broker.server.log_text()}"
    return client


def two_devices(site: Site) -> tuple[str, str]:
    first, second, *_ = sorted(site.devices)
    return first, second


def two_teams(site: Site) -> tuple[str, str]:
    first, second, *_ = sorted(site.teams)
    return first, second


def test_a_device_cannot_publish_as_another_device(
    broker: SecuredBroker, clients: list[Client]
) -> None:
    device, other = two_devices(broker.site)
    gateway = connect(broker, clients, "fm-gateway")
    gateway.subscribe(f"{PREFIX}/+/telemetry")
    sender = connect(broker, clients, device)

    forged = sender.publish(telemetry_topic(other, PREFIX))
    own = sender.publish(telemetry_topic(device, PREFIX))

    assert forged.getName() == "Not authorized"
    assert not own.is_failure
    # One publisher, QoS 1: had the forged message been routed, it would arrive first.
    assert gateway.next("message") == telemetry_topic(device, PREFIX)
    assert gateway.events.empty()


def test_a_team_reads_its_own_topic_and_not_another_teams(
    broker: SecuredBroker, clients: list[Client]
) -> None:
    team, other = two_teams(broker.site)
    crew = connect(broker, clients, f"team-{team}")
    crew.subscribe(team_workorders_topic(other, PREFIX))
    crew.subscribe(team_workorders_topic(team, PREFIX))
    alerts = connect(broker, clients, "fm-alerts")

    assert not alerts.publish(team_workorders_topic(other, PREFIX)).is_failure
    assert not alerts.publish(team_workorders_topic(team, PREFIX)).is_failure

    assert crew.next("message") == team_workorders_topic(team, PREFIX)
    assert crew.events.empty()


def test_a_device_reads_nothing_and_the_gateway_writes_no_device_topic(
    broker: SecuredBroker, clients: list[Client]
) -> None:
    device, other = two_devices(broker.site)
    team, _ = two_teams(broker.site)
    listener = connect(broker, clients, device)
    listener.subscribe(f"{PREFIX}/#")
    gateway = connect(broker, clients, "fm-gateway")

    assert gateway.publish(telemetry_topic(other, PREFIX)).getName() == "Not authorized"
    assert not gateway.publish(team_workorders_topic(team, PREFIX)).is_failure
    # The listener's own PUBACK is a barrier: anything the broker routed to it before (the
    # work order above) would be on its connection first.
    assert not listener.publish(telemetry_topic(device, PREFIX)).is_failure
    assert listener.events.empty()


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, None), ("fm-gateway", "wrong-password"), ("not-in-the-site", "anything")],
    ids=["anonymous", "wrong-password", "unknown-user"],
)
def test_clients_without_valid_credentials_cannot_connect(
    broker: SecuredBroker, clients: list[Client], username: str | None, password: str | None
) -> None:
    client = Client(broker, username, password)
    clients.append(client)
    assert client.connack().getName() == "Not authorized"


def test_every_service_and_team_account_logs_in(
    broker: SecuredBroker, clients: list[Client]
) -> None:
    team, _ = two_teams(broker.site)
    for username in ("fm-gateway", "fm-api", "fm-alerts", f"team-{team}"):
        connect(broker, clients, username)


@pytest.mark.timeout(90)  # an `fm gateway` start (migrations) and a notification, under load
async def test_a_real_gateway_with_its_account_turns_a_device_alarm_into_a_team_page(
    broker: SecuredBroker, tmp_path: Path
) -> None:
    site = broker.site
    device = next(d.id for d in site.devices.values() if d.type == "charging_shed")
    team = site.route(device).team.id
    server = broker.server
    env = {
        **os.environ,
        "FM_MQTT_URL": f"mqtt://fm-gateway:{broker.passwords['fm-gateway']}@{server.host}:{server.port}",
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_METRICS_PORT": str(free_port()),
    }
    for key in ("FM_SITE_FILE", "FM_DATABASE_URL", "FM_TSDB_URL", "FM_ALERTS_HANDOFF"):
        env.pop(key, None)
    log = tmp_path / "gateway.log"
    gateway = start_fm("gateway", "--migrate", env=env, log=log)
    try:
        async with aiomqtt.Client(
            server.host,
            server.port,
            username=f"team-{team}",
            password=broker.passwords[f"team-{team}"],
            identifier="crew-phone",
        ) as crew:
            await crew.subscribe(team_workorders_topic(team, PREFIX), qos=1)

            async def subscribed() -> bool:
                assert gateway.poll() is None, log.read_text()
                return "subscribed to" in log.read_text()

            await eventually(subscribed, within=GATEWAY_START_S, what="the gateway to subscribe")
            async with aiomqtt.Client(
                server.host,
                server.port,
                username=device,
                password=broker.passwords[device],
                identifier=device,
            ) as shed:
                await shed.publish(telemetry_topic(device, PREFIX), SMOKE, qos=1)

            async with asyncio.timeout(GATEWAY_START_S):
                async for message in crew.messages:
                    assert isinstance(message.payload, bytes)
                    page = json.loads(message.payload)
                    assert (page["device_id"], page["fault_code"]) == (device, "smoke")
                    break
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=GATEWAY_START_S)
