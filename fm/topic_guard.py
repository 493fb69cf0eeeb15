"""Follows MQTT 3.1.1 framing over a client's byte stream and rejects forbidden PUBLISH topics.

The embedded broker (amqtt 0.12) drops a PUBLISH whose topic holds a wildcard after reading only
its topic, then parses the unread payload as further packets, and forwards a topic holding
U+0000. The specification requires closing the connection instead: a topic name is non-empty
UTF-8 (MQTT-4.7.3-1, MQTT-1.5.3-1) without U+0000 (MQTT-1.5.3-2) or wildcards (MQTT-3.3.2-2).
"""

from __future__ import annotations

from enum import Enum, auto

PUBLISH = 3
#: A remaining length takes at most four bytes (MQTT-2.2.3).
MAX_LENGTH_BYTES = 4
TOPIC_LENGTH_BYTES = 2
_CONTINUATION = 0x80
_LENGTH_DIGIT = 0x7F
_TYPE_SHIFT = 4
_LENGTH_BASE = 128
_FORBIDDEN_IN_TOPIC = {b"+": "wildcard '+'", b"#": "wildcard '#'", b"\x00": "U+0000"}


class ProtocolViolation(Exception):
    """The client broke the MQTT specification; its connection must be closed."""

    def __init__(self, reason: str, topic: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.topic = topic


class _Stage(Enum):
    TYPE = auto()
    LENGTH = auto()
    TOPIC_LENGTH = auto()
    TOPIC = auto()
    BODY = auto()


def topic_problem(topic: bytes) -> str | None:
    """Why a PUBLISH topic name is forbidden, or None when it is a valid topic name."""
    if not topic:
        return "empty topic"
    for needle, what in _FORBIDDEN_IN_TOPIC.items():
        if needle in topic:
            return f"topic contains {what}"
    try:
        topic.decode("utf-8")
    except UnicodeDecodeError:
        return "topic is not UTF-8"
    return None


class TopicGuard:
    """Fed every byte a client sends, in order; raises ProtocolViolation on a forbidden topic.

    Only packet boundaries and PUBLISH topics are parsed; payloads are skipped in bulk, so the
    cost per message does not grow with its size. Other malformed packets are left to amqtt.
    """

    def __init__(self) -> None:
        self._stage = _Stage.TYPE
        self._packet_type = 0
        self._length_bytes = 0
        self._remaining = 0
        self._multiplier = 1
        self._topic_length = bytearray()
        self._topic = bytearray()
        self._topic_wanted = 0

    def feed(self, data: bytes) -> None:
        """Advance over ``data``, the next bytes of the stream."""
        view = memoryview(data)
        while view:
            view = self._step(view)

    def _step(self, view: memoryview) -> memoryview:
        if self._stage is _Stage.TOPIC:
            taken = min(len(view), self._topic_wanted)
            self._topic += view[:taken]
            self._topic_wanted -= taken
            self._remaining -= taken
            if not self._topic_wanted:
                self._check_topic()
                self._next_if_done()
            return view[taken:]
        if self._stage is _Stage.BODY:
            taken = min(len(view), self._remaining)
            self._remaining -= taken
            self._next_if_done()
            return view[taken:]
        self._byte(view[0])
        return view[1:]

    def _byte(self, byte: int) -> None:
        if self._stage is _Stage.TYPE:
            self._packet_type = byte >> _TYPE_SHIFT
            self._stage, self._remaining, self._multiplier, self._length_bytes = (
                _Stage.LENGTH,
                0,
                1,
                0,
            )
        elif self._stage is _Stage.LENGTH:
            self._remaining += (byte & _LENGTH_DIGIT) * self._multiplier
            self._multiplier *= _LENGTH_BASE
            self._length_bytes += 1
            if byte & _CONTINUATION:
                if self._length_bytes == MAX_LENGTH_BYTES:
                    raise ProtocolViolation("malformed remaining length")
                return
            publish = self._packet_type == PUBLISH and self._remaining >= TOPIC_LENGTH_BYTES
            self._stage = _Stage.TOPIC_LENGTH if publish else _Stage.BODY
            self._topic_length.clear()
            self._next_if_done()
        else:  # TOPIC_LENGTH
            self._topic_length.append(byte)
            self._remaining -= 1
            if len(self._topic_length) == TOPIC_LENGTH_BYTES:
                self._topic_wanted = int.from_bytes(self._topic_length, "big")
                self._topic.clear()
                if self._topic_wanted > self._remaining:
                    self._stage = _Stage.BODY  # a truncated topic: amqtt rejects it as malformed
                elif self._topic_wanted:
                    self._stage = _Stage.TOPIC
                else:
                    self._check_topic()
                self._next_if_done()

    def _check_topic(self) -> None:
        problem = topic_problem(bytes(self._topic))
        if problem is not None:
            raise ProtocolViolation(problem, bytes(self._topic))
        self._stage = _Stage.BODY

    def _next_if_done(self) -> None:
        if self._stage is _Stage.BODY and not self._remaining:
            self._stage = _Stage.TYPE
