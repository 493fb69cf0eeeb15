"""The paho device of docs/devices.md, run as written against a real Mosquitto.

It must publish its birth before its first reading, readings the gateway's decoder accepts with a
rising ``seq``, a retained ``offline`` when stopped with Ctrl-C, and leave a last will that the
broker publishes when the process dies.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import BUNDLED_SITE, Settings
from gateway.decode import Decoder, Reading
from governance.loader import load_site
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "devices.md"
MARK = "<!-- device-example -->"
DEVICE = "ssc-g01-b1-pipe"  # the example's default device
INTERVAL_S = 0.1
READINGS = 3
WAIT_S = 15.0
POLL_S = 0.05


def example_source() -> str:
    """The Python block that follows the marker in docs/devices.md."""
    found = re.search(re.escape(MARK) + r"\n```python\n(.*?)\n```", DOC.read_text(), re.DOTALL)
    assert found, f"no {MARK} python block in {DOC}"
    return found.group(1)


class Recorder:
    """Everything published under the device's topics, in arrival order."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="doc-recorder")
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_args: subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(f"fm/{DEVICE}/#", qos=1)
        self._client.loop_start()
        # Nothing the device sends may slip past before the subscription is in place.
        assert subscribed.wait(WAIT_S), "the recorder's subscription was not acknowledged"

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, topic_suffix: str) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [m for m in self.snapshot() if m[0].endswith(topic_suffix)]
            if len(found) >= count:
                return found
            time.sleep(POLL_S)
        raise AssertionError(f"fewer than {count} {topic_suffix} messages: {self.snapshot()}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def recorder(mosquitto: MosquittoServer) -> Iterator[Recorder]:
    recorder = Recorder(mosquitto.port)
    try:
        yield recorder
    finally:
        recorder.close()


def start_example(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    script = tmp_path / "device.py"
    script.write_text(example_source())
    env = {**os.environ, "MQTT_PORT": str(port), "INTERVAL_S": str(INTERVAL_S)}
    return subprocess.Popen([sys.executable, str(script)], env=env)


def test_the_example_device_speaks_the_contract_and_says_goodbye(
    tmp_path: Path, mosquitto: MosquittoServer, recorder: Recorder
) -> None:
    device = start_example(tmp_path, mosquitto.port)
    try:
        readings = recorder.wait_for(READINGS, "/telemetry")
    finally:
        device.send_signal(signal.SIGINT)
        device.wait(timeout=WAIT_S)

    statuses = recorder.wait_for(2, "/status")
    assert [payload for _, payload, _ in statuses][:2] == [b"online", b"offline"]
    first_reading = next(i for i, m in enumerate(recorder.snapshot()) if m[0].endswith("telemetry"))
    first_status = next(i for i, m in enumerate(recorder.snapshot()) if m[0].endswith("status"))
    assert first_status < first_reading, "birth must come before the first reading"

    decoder = Decoder.from_settings(Settings(), load_site(BUNDLED_SITE))
    decoded = [decoder.decode(topic, payload, time.time()) for topic, payload, _ in readings]
    assert all(isinstance(d, Reading) for d in decoded), decoded
    seqs = [d.seq for d in decoded if isinstance(d, Reading)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_broker_publishes_the_example_devices_last_will_when_it_dies(
    tmp_path: Path, mosquitto: MosquittoServer, recorder: Recorder
) -> None:
    device = start_example(tmp_path, mosquitto.port)
    try:
        recorder.wait_for(1, "/telemetry")
    finally:
        device.kill()
        device.wait(timeout=WAIT_S)
    statuses = recorder.wait_for(2, "/status")
    assert [payload for _, payload, _ in statuses][:2] == [b"online", b"offline"]
