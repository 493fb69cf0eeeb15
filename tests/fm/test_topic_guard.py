"""fm.topic_guard follows MQTT framing however the stream is split and rejects bad topics."""

from __future__ import annotations

import pytest

from fm.topic_guard import ProtocolViolation, TopicGuard, topic_problem


def remaining_length(length: int) -> bytes:
    encoded = b""
    while True:
        digit, length = length % 128, length // 128
        encoded += bytes([digit | (0x80 if length else 0)])
        if not length:
            return encoded


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + remaining_length(len(body)) + body


def publish(topic: bytes, payload: bytes = b"", *, qos: int = 0) -> bytes:
    packet_id = b"\x00\x07" if qos else b""
    body = len(topic).to_bytes(2, "big") + topic + packet_id + payload
    return packet(0x30 | qos << 1, body)


CONNECT = packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c\x00\x03dev")
PINGREQ = packet(0xC0, b"")
SUBSCRIBE = packet(0x82, b"\x00\x01\x00\x04fm/#\x01")
# Payloads may hold any bytes, wildcards and NUL included; a long one needs 2 length bytes.
VALID = (
    CONNECT
    + SUBSCRIBE
    + publish(b"fm/dev-1/telemetry", b'{"metrics": {"lux": 3}} # + \x00' * 20)
    + PINGREQ
    + publish(b"fm/\xe6\x96\xb0\xe5\x9f\x8e/status", b"online", qos=1)
    + publish(b"fm/dev-1/event", b"")
)


def feed_in_chunks(data: bytes, size: int) -> None:
    guard = TopicGuard()
    for start in range(0, len(data), size):
        guard.feed(data[start : start + size])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_a_valid_stream_passes_however_it_is_split(size: int) -> None:
    feed_in_chunks(VALID, size)


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        (b"fm/+/telemetry", "topic contains wildcard '+'"),
        (b"fm/#", "topic contains wildcard '#'"),
        (b"fm/dev\x00/telemetry", "topic contains U+0000"),
        (b"", "empty topic"),
        (b"fm/\xff/telemetry", "topic is not UTF-8"),
    ],
)
@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_a_forbidden_topic_after_valid_traffic_is_reported(
    topic: bytes, reason: str, size: int
) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        feed_in_chunks(VALID + publish(topic, b"payload", qos=1), size)
    assert (caught.value.reason, caught.value.topic) == (reason, topic)


def test_nothing_is_reported_before_the_whole_topic_arrives() -> None:
    bad = publish(b"fm/dev-1/telemetry#", b"x")
    guard = TopicGuard()
    guard.feed(bad[:-3])  # the '#' is the last topic byte, not yet sent
    with pytest.raises(ProtocolViolation):
        guard.feed(bad[-3:])


def test_a_remaining_length_of_five_bytes_is_malformed() -> None:
    with pytest.raises(ProtocolViolation, match="malformed remaining length"):
        TopicGuard().feed(b"\x30\xff\xff\xff\xff\x01")


def test_topic_problem_accepts_ordinary_topics() -> None:
    assert topic_problem("fm/teams/网格-1/workorders".encode()) is None
