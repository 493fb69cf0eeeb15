"""Brokers, an MQTT subscriber and polling helpers for the sensors tests."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers.mosquitto import MosquittoServer
from tests.servers.ports import free_port

MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
STARTUP_DEADLINE_S = 10.0
POLL_S = 0.02


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_S)


Broker = MosquittoServer


@pytest.fixture
def broker(mosquitto: MosquittoServer) -> MosquittoServer:
    """The shared real Mosquitto fixture (tests/servers/mosquitto.py), under a local name."""
    return mosquitto


PASSWORD_USER = "device-user"
PASSWORD_SECRET = "s3cret-pass"


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A real Mosquitto that refuses anonymous clients and knows one user."""
    directory = tmp_path / "mosquitto-auth"
    directory.mkdir()
    server = MosquittoServer(directory, free_port())
    passwords = directory / "passwords"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-b", "-c", str(passwords), PASSWORD_USER, PASSWORD_SECRET],
        check=True,
        capture_output=True,
    )
    config = server.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
    server.config.write_text(config + f"password_file {passwords}\n")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class Received:
    """One message the subscriber saw."""

    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """A paho subscriber on its own thread recording everything under a topic filter."""

    def __init__(self, broker: Broker, topic_filter: str) -> None:
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._subscribed = threading.Event()
        client: Any = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{id(self)}")
        client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(broker.host, broker.port)
        client.loop_start()
        self._client = client
        wait_until(self._subscribed.is_set, timeout_s=STARTUP_DEADLINE_S, what="SUBACK")

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._lock:
            self._messages.append(Received(message.topic, message.payload, message.retain))

    def messages(self, topic: str | None = None) -> list[Received]:
        """Everything received so far, optionally on one topic only."""
        with self._lock:
            return [m for m in self._messages if topic is None or m.topic == topic]

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe(broker: Broker) -> Iterator[Callable[[str], Subscriber]]:
    """Factory of subscribers on the test broker, all closed at teardown."""
    made: list[Subscriber] = []

    def factory(topic_filter: str) -> Subscriber:
        subscriber = Subscriber(broker, topic_filter)
        made.append(subscriber)
        return subscriber

    yield factory
    for subscriber in made:
        subscriber.close()


async def await_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Like ``wait_until`` but yields to the event loop while polling."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(POLL_S)
