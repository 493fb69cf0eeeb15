"""Fixture starting a real mosquitto process on a free port in a temporary directory.

Function-scoped: every test gets its own broker (it starts in milliseconds), so retained
messages, sessions and last wills never leak between tests, and a test may stop and restart its
broker on the same port to exercise reconnects.
"""

from __future__ import annotations

import getpass
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers.ports import free_port

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.01
KEEPALIVE_S = 60


class MosquittoServer:
    """A mosquitto process under a test's control."""

    host = "127.0.0.1"

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            f"log_dest file {self.log}",
            "log_type all",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto would switch to user "mosquitto" and lose the tmp dir.
            lines.append(f"user {getpass.getuser()}")
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>`` for ``FM_MQTT_URL``."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts TCP connections."""
        if not MOSQUITTO.is_file():
            pytest.fail(f"{MOSQUITTO} is missing: `make test` installs the mosquitto package")
        self._process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                failed, self._process = self._process, None
                stderr = failed.stderr.read().decode() if failed.stderr else ""
                if failed.stderr is not None:
                    failed.stderr.close()
                pytest.fail(f"mosquitto exited at start: {stderr}\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=POLL_INTERVAL_S * 10):
                    return
            except OSError:
                time.sleep(POLL_INTERVAL_S)
        self.stop()
        pytest.fail(f"mosquitto did not listen on {self.port} within {START_TIMEOUT_S}s")

    def stop(self) -> None:
        """Terminate the broker (clients see the connection drop) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
        if process.stderr is not None:
            process.stderr.close()

    def log_text(self) -> str:
        """The broker's log so far (for assertion messages)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        """Publish one message with a short-lived paho client; returns once the broker has it."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        try:
            client.connect(self.host, self.port, keepalive=KEEPALIVE_S)
            client.loop_start()
            info = client.publish(topic, payload, qos=qos, retain=retain)
            info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
            if not info.is_published():
                raise AssertionError(f"broker did not acknowledge the publish on {topic}")
            client.disconnect()
        finally:
            client.loop_stop()

    def connect_with_will(
        self, *, client_id: str, will_topic: str, will_payload: bytes
    ) -> socket.socket:
        """A raw MQTT 3.1.1 client holding a retained QoS 1 last will; close the socket to "die".

        Closing the returned socket without sending DISCONNECT is exactly what a device losing
        power looks like to the broker, which then publishes the will.
        """
        flags = 0x04 | 0x08 | 0x20 | 0x02  # will, will QoS 1, will retain, clean session
        variable = _mqtt_string(b"MQTT") + bytes([4, flags]) + struct.pack("!H", KEEPALIVE_S)
        body = (
            variable
            + _mqtt_string(client_id.encode())
            + _mqtt_string(will_topic.encode())
            + _mqtt_string(will_payload)
        )
        sock = socket.create_connection((self.host, self.port), timeout=PUBLISH_TIMEOUT_S)
        try:
            sock.sendall(bytes([0x10]) + _remaining_length(len(body)) + body)
            connack = sock.recv(4)
            if connack[:1] != b"\x20" or connack[3:4] != b"\x00":
                raise AssertionError(f"broker refused the connection: {connack!r}")
        except BaseException:
            sock.close()
            raise
        return sock


def _mqtt_string(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A fresh mosquitto broker for one test, on a free loopback port."""
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    server = MosquittoServer(directory, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
