"""The embedded amqtt broker of `fm demo` with real MQTT clients (mosquitto_pub, paho, aiomqtt)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import aiomqtt
import pytest

from fm.broker import EmbeddedBroker, EmbeddedBrokerError
from tests.e2e.helpers import free_port, mosquitto_pub

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
