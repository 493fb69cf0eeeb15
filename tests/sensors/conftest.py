"""A private Mosquitto broker and an MQTT subscriber for the sensors tests."""

from __future__ import annotations

import asyncio
import socket
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

MOSQUITTO = "/usr/sbin/mosquitto"
STARTUP_DEADLINE_S = 10.0
POLL_S = 0.02


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_S)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Broker:
    """Where the test broker listens."""

    host: str
    port: int


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto process on a free port, anonymous access, stopped at teardown."""
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"log_dest file {tmp_path / 'mosquitto.log'}\n"
    )
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: _accepts(port), timeout_s=STARTUP_DEADLINE_S, what="mosquitto")
        yield Broker("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STARTUP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
