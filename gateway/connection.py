"""The gateway's MQTT client: a persistent session whose messages it acknowledges itself."""

from __future__ import annotations

import aiomqtt

from core.mqtt import BrokerAddress


def persistent_client(broker: BrokerAddress, client_id: str) -> tuple[aiomqtt.Client, object]:
    """An unconnected client with a persistent session (fixed id, clean_session False) and
    manual PUBACKs, and its paho client (which sends those acknowledgements).

    The broker keeps QoS 1 messages for the session while we reconnect; manual acknowledgement
    is set before connecting, since the kept messages arrive right after CONNACK and each is
    acknowledged only once its points and events are durable (gateway/acks.py).
    """
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=client_id,
        clean_session=False,
    )
    paho = client._client
    paho.manual_ack_set(True)
    return client, paho


def as_bytes(payload: object) -> bytes:
    """aiomqtt types payloads loosely; paho always delivers bytes, but be exact anyway."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()
