"""The embedded amqtt broker of `fm demo` with real MQTT clients (mosquitto_pub, paho, aiomqtt)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import aiomqtt
import pytest

from fm.broker import EmbeddedBroker, EmbeddedBrokerError
from tests.e2e.helpers import mosquitto_pub
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

WAIT_S = 10.0


async def receive(client: aiomqtt.Client, count: int) -> list[tuple[str, bytes]]:
    """The next ``count`` messages, or fail after WAIT_S."""
    got: list[tuple[str, bytes]] = []
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            got.append((str(message.topic), message.payload))
            if len(got) == count:
                break
    return got


async def test_qos0_publish_followed_by_disconnect_is_delivered() -> None:
    # amqtt 0.12 alone drops these: a mosquitto_pub at QoS 0 disconnects right after publishing.
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="subscriber") as client,
    ):
        await client.subscribe("fm/+/telemetry", qos=1)
        for index in range(5):
            await asyncio.to_thread(
                mosquitto_pub, port=port, topic=f"fm/d{index}/telemetry", message=f"m{index}", qos=0
            )
        got = await receive(client, 5)
    assert sorted(payload for _, payload in got) == [f"m{i}".encode() for i in range(5)]


async def test_last_will_is_published_when_a_device_drops() -> None:
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="watcher") as watcher,
    ):
        await watcher.subscribe("fm/dev-1/status", qos=1)
        device = aiomqtt.Client(
            "127.0.0.1",
            port,
            identifier="dev-1",
            will=aiomqtt.Will("fm/dev-1/status", b"offline", qos=1, retain=True),
        )
        await device.__aenter__()
        await device.publish("fm/dev-1/status", b"online", qos=1, retain=True)
        assert await receive(watcher, 1) == [("fm/dev-1/status", b"online")]
        # Drop the TCP connection without DISCONNECT, as a device losing power does.
        sock = device._client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        assert await receive(watcher, 1) == [("fm/dev-1/status", b"offline")]
        with contextlib.suppress(aiomqtt.MqttError):
            await device.__aexit__(None, None, None)


async def test_a_taken_port_is_a_clear_startup_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmbeddedBrokerError, match=f"127.0.0.1:{port}"):
            async with EmbeddedBroker(host="127.0.0.1", port=port):
                pass


def _mqtt_string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte: int, body: bytes) -> bytes:
    length, encoded = len(body), b""
    while True:
        digit, length = length % 128, length // 128
        encoded += bytes([digit | (0x80 if length else 0)])
        if not length:
            return bytes([first_byte]) + encoded + body


def publish_and_vanish(port: int, topic: str, payload: bytes) -> None:
    """CONNECT, then PUBLISH (QoS 0), DISCONNECT and FIN in one segment, as a fast client does."""
    connect = _mqtt_string("MQTT") + bytes([4, 2]) + (60).to_bytes(2, "big") + _mqtt_string("fast")
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(_packet(0x10, connect))
        assert sock.recv(4)[:1] == b"\x20", "no CONNACK"
        sock.sendall(_packet(0x30, _mqtt_string(topic) + payload) + _packet(0xE0, b""))
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(1024):
            pass


async def test_publish_disconnect_and_close_in_one_segment_on_a_busy_broker() -> None:
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="gateway", clean_session=False) as gateway,
    ):
        await gateway.subscribe("fm/+/status", qos=1)
        await gateway.subscribe("fm/+/telemetry", qos=1)
        async with aiomqtt.Client("127.0.0.1", port, identifier="fleet") as fleet:
            for index in range(50):
                await fleet.publish(f"fm/dev-{index}/status", b"online", qos=1, retain=True)
        statuses = await receive(gateway, 50)
        assert len(statuses) == 50
        for index in range(3):
            await asyncio.to_thread(
                publish_and_vanish, port, f"fm/fast-{index}/telemetry", f"m{index}".encode()
            )
        got = await receive(gateway, 3)
    assert sorted(payload for _, payload in got) == [b"m0", b"m1", b"m2"]


async def test_a_new_subscriber_gets_only_the_retained_messages_it_subscribed_to() -> None:
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="gateway") as gateway,
    ):
        await gateway.subscribe("fm/+/status", qos=1)
        async with aiomqtt.Client("127.0.0.1", port, identifier="device") as device:
            await device.publish("fm/dev-1/status", b"online", qos=1, retain=True)
            await device.publish("fm/dev-1/telemetry", b"t0", qos=1, retain=True)
        async with aiomqtt.Client("127.0.0.1", port, identifier="crew") as crew:
            await crew.subscribe("fm/dev-1/telemetry", qos=1)
            assert await receive(crew, 1) == [("fm/dev-1/telemetry", b"t0")]
            # Nothing else arrives: publish a marker and expect it next, not a status message.
            await crew.publish("fm/dev-1/telemetry", b"marker", qos=1)
            assert await receive(crew, 1) == [("fm/dev-1/telemetry", b"marker")]


CLEAN_SESSION, WILL_QOS_1 = 0x02, 0x04 | 0x08


def connect_raw(port: int, client_id: str, will: tuple[str, bytes] | None = None) -> socket.socket:
    """A TCP connection that has completed CONNECT/CONNACK, for crafting packets by hand."""
    flags = CLEAN_SESSION | (WILL_QOS_1 if will else 0)
    connect = _mqtt_string("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big")
    connect += _mqtt_string(client_id)
    if will:
        connect += _mqtt_string(will[0]) + len(will[1]).to_bytes(2, "big") + will[1]
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    sock.sendall(_packet(0x10, connect))
    assert sock.recv(4)[:1] == b"\x20", "no CONNACK"
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """True when the broker closes the connection (EOF or reset) within WAIT_S."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


SMUGGLED = _packet(0x30, _mqtt_string("fm/smuggled/telemetry") + b"smuggled")


@pytest.mark.parametrize(
    "topic",
    [b"fm/+/telemetry", b"fm/#", b"fm/dev\x00/telemetry"],
    ids=["plus", "hash", "nul"],
)
async def test_a_forbidden_publish_topic_closes_only_that_connection(
    topic: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="watcher") as watcher,
        aiomqtt.Client("127.0.0.1", port, identifier="device") as device,
    ):
        await watcher.subscribe("#", qos=1)
        sock = await asyncio.to_thread(connect_raw, port, "bad")
        with sock:
            # The payload is itself a well-formed PUBLISH: amqtt alone parsed and forwarded it.
            bad = _packet(0x30, len(topic).to_bytes(2, "big") + topic + SMUGGLED)
            await asyncio.to_thread(sock.sendall, bad)
            assert await asyncio.to_thread(closed_by_peer, sock)
        # Other clients are unaffected, and the marker is the first thing the watcher sees.
        await device.publish("fm/dev-1/telemetry", b"marker", qos=1)
        assert await receive(watcher, 1) == [("fm/dev-1/telemetry", b"marker")]
    [record] = [r for r in caplog.records if "closing the connection" in r.getMessage()]
    assert "\x00" not in record.getMessage()
    assert ascii(topic.decode()) in record.getMessage()


async def test_a_client_closed_for_a_forbidden_topic_sends_its_will() -> None:
    port = free_port()
    async with (
        EmbeddedBroker(host="127.0.0.1", port=port),
        aiomqtt.Client("127.0.0.1", port, identifier="watcher") as watcher,
    ):
        await watcher.subscribe("#", qos=1)
        will = ("fm/bad/status", b"offline")
        sock = await asyncio.to_thread(connect_raw, port, "bad", will)
        with sock:
            await asyncio.to_thread(sock.sendall, _packet(0x30, _mqtt_string("fm/#") + b"x"))
            assert await asyncio.to_thread(closed_by_peer, sock)
        assert await receive(watcher, 1) == [will]
