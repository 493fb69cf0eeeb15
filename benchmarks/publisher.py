"""A fast MQTT 3.1.1 publisher speaking raw sockets (run as a separate process).

``python -m benchmarks.publisher PORT COUNT DEVICE...`` sends COUNT QoS 0 telemetry messages,
round-robin over the devices, as fast as the socket takes them, then waits for the broker's
PINGRESP so every message has reached the broker before it exits. Pre-encoding the packets keeps
the publisher far faster than any subscriber, so the subscriber is what gets measured.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

CHUNK = 500
KEEPALIVE_S = 60


def _string(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _remaining(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def connect_packet(client_id: str) -> bytes:
    """CONNECT, clean session, no will."""
    body = _string(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", KEEPALIVE_S)
    body += _string(client_id.encode())
    return b"\x10" + _remaining(len(body)) + body


def publish_packet(topic: str, payload: bytes) -> bytes:
    """PUBLISH at QoS 0."""
    body = _string(topic.encode()) + payload
    return b"\x30" + _remaining(len(body)) + body


def telemetry_packets(count: int, devices: list[str]) -> list[bytes]:
    """``count`` healthy corridor-light readings with growing ``seq`` and current ``ts``."""
    now = time.time()
    packets = []
    for i in range(count):
        device = devices[i % len(devices)]
        payload = {
            "ts": now + i * 1e-6,
            "seq": i,
            "metrics": {"lamp_on": False, "current_a": 0.0, "voltage_v": 221.0, "lux": 3.0},
        }
        packets.append(publish_packet(f"fm/{device}/telemetry", json.dumps(payload).encode()))
    return packets


def publish(port: int, packets: list[bytes]) -> None:
    """Send the packets over one connection and wait until the broker has them all."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(connect_packet(f"bench-pub-{time.monotonic_ns()}"))
        if sock.recv(4)[:1] != b"\x20":
            raise RuntimeError("broker refused the publisher")
        for start in range(0, len(packets), CHUNK):
            sock.sendall(b"".join(packets[start : start + CHUNK]))
        sock.sendall(b"\xc0\x00")  # PINGREQ: its answer comes after everything sent before
        while sock.recv(2)[:1] != b"\xd0":
            pass
        sock.sendall(b"\xe0\x00")  # DISCONNECT


def main(argv: list[str]) -> None:
    port, count, devices = int(argv[0]), int(argv[1]), argv[2:]
    publish(port, telemetry_packets(count, devices))


if __name__ == "__main__":
    main(sys.argv[1:])
