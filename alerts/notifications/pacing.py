"""Robot channels within their platforms' limits: per-endpoint pacing and digests.

WeCom and DingTalk group robots accept about 20 messages a minute each; DingTalk then refuses
that robot for 10 minutes. :class:`EndpointLimiter` keeps, per robot endpoint, a sliding window
of sends (``FM_ROBOT_MAX_PER_WINDOW`` per ``FM_ROBOT_WINDOW_S``) and a "too fast" block
(``FM_ROBOT_THROTTLE_BACKOFF_S``). :func:`plan` turns one claim into deliveries: rows for a
robot that has budget for all of them go one message each; when the budget is short they fold
into digests (as few as the platform's size limit allows), and what still does not fit waits in
the outbox until the window frees a slot. Webhooks and MQTT are never paced here.

The limiter lives in memory. With several relays on PostgreSQL only the one holding the robot
lock (robot_lock.py) claims robot rows, and a relay taking the lock over starts from the sends
the outbox recorded in the last window, so together they stay within each robot's pace. A
robot's "too fast" answer backs off that endpoint without counting as a failed attempt, so it
never leads to a dead letter; rows held back keep their due time in the database across restarts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.notifications.channels.dingtalk import DINGTALK_MAX_MARKDOWN_BYTES
from alerts.notifications.channels.text import RobotMessage, digest_message, robot_message
from alerts.notifications.channels.wecom import WECOM_MAX_MARKDOWN_BYTES
from alerts.notifications.leases import Claimed, Target
from alerts.notifications.wording.compose import Wording
from storage.relational.outbox_models import EndpointKind

#: Seconds on a monotonic clock (``time.monotonic`` in production, a test clock in tests).
MonotonicClock = Callable[[], float]

#: Endpoint kinds whose platforms limit how often one robot may be sent to.
PACED_KINDS = frozenset({EndpointKind.WECOM, EndpointKind.DINGTALK})

#: How much one robot message may hold, by endpoint kind (the platforms' limits).
MAX_MARKDOWN_BYTES = {
    EndpointKind.WECOM: WECOM_MAX_MARKDOWN_BYTES,
    EndpointKind.DINGTALK: DINGTALK_MAX_MARKDOWN_BYTES,
}

#: Splits one robot's rows into digest chunks that each fit in one message.
Folder = Callable[[Target, Sequence[Claimed]], list[tuple[Claimed, ...]]]


@dataclass(slots=True)
class _Window:
    sent: deque[float] = field(default_factory=deque)  # when each recent send finished
    in_flight: int = 0
    blocked_until: float = 0.0


class EndpointLimiter:
    """Sliding-window send budget and "too fast" backoff per robot endpoint."""

    def __init__(
        self, *, max_per_window: int, window_s: float, clock: MonotonicClock = time.monotonic
    ) -> None:
        self._max = max_per_window
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[int, _Window] = {}

    def budget(self, endpoint_id: int) -> int:
        """How many messages may start now."""
        window, now = self._current(endpoint_id)
        if now < window.blocked_until:
            return 0
        return max(0, self._max - len(window.sent) - window.in_flight)

    def wait_s(self, endpoint_id: int, *, in_flight_s: float) -> float:
        """Seconds until a message may start (0: now); ``in_flight_s`` bounds a send in flight."""
        window, now = self._current(endpoint_id)
        if now < window.blocked_until:
            return window.blocked_until - now
        excess = len(window.sent) + window.in_flight - self._max
        if excess < 0:
            return 0.0
        if excess < len(window.sent):
            # Sends leave the window oldest first: the (excess+1)-th oldest frees the slot.
            return window.sent[excess] + self._window_s - now
        return in_flight_s  # the window is held by sends still in flight

    def started(self, endpoint_id: int) -> None:
        """A message to the endpoint is on its way (it holds a slot until it finishes)."""
        self._current(endpoint_id)[0].in_flight += 1

    def finished(self, endpoint_id: int) -> None:
        """The message ended (accepted or not): it counts from now, when it surely arrived."""
        window, now = self._current(endpoint_id)
        window.in_flight -= 1
        window.sent.append(now)

    def seed(self, endpoint_id: int, ages_s: Iterable[float]) -> None:
        """Start the endpoint's window from sends another relay made ``ages_s`` seconds ago."""
        window, now = self._current(endpoint_id)
        others = [now - age for age in ages_s if age < self._window_s]
        window.sent = deque(sorted([*window.sent, *others]))

    def back_off(self, endpoint_id: int, seconds: float) -> None:
        """Send nothing to the endpoint for ``seconds`` (it answered "too fast")."""
        window, now = self._current(endpoint_id)
        window.blocked_until = max(window.blocked_until, now + seconds)

    def _current(self, endpoint_id: int) -> tuple[_Window, float]:
        now = self._clock()
        window = self._windows.setdefault(endpoint_id, _Window())
        while window.sent and window.sent[0] <= now - self._window_s:
            window.sent.popleft()
        return window, now


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to send: a single row, or a digest that folds several rows for one robot."""

    rows: tuple[Claimed, ...]
    target: Target | None
    key: str  # the idempotency key: the row's own, or the digest's (derived from the row ids)
    paced_endpoint: int | None = None  # the robot endpoint whose slot this message holds

    @property
    def is_digest(self) -> bool:
        """True when the message names more than one row."""
        return len(self.rows) > 1


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Rows for a robot whose window is full: back to the outbox until a slot frees."""

    rows: tuple[Claimed, ...]
    wait_s: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one claim."""

    deliveries: list[Delivery]
    held_back: list[HeldBack]


def digest_key(endpoint_id: int, rows: Iterable[Claimed]) -> str:
    """``digest:ep<id>:<hash of the row ids>``: the same rows always make the same key."""
    ids = ",".join(str(row.id) for row in sorted(rows, key=lambda row: row.id))
    return f"digest:ep{endpoint_id}:{hashlib.sha256(ids.encode('ascii')).hexdigest()[:16]}"


def plan(
    claimed: Sequence[Claimed],
    targets: dict[int, Target],
    limiter: EndpointLimiter,
    *,
    fold: Folder,
    in_flight_s: float,
) -> Plan:
    """Deliveries for the claimed rows; reserves the robots' slots it uses."""
    deliveries: list[Delivery] = []
    held_back: list[HeldBack] = []
    paced: dict[int, list[Claimed]] = {}
    for row in claimed:
        target = targets.get(row.endpoint_id) if row.endpoint_id is not None else None
        if row.endpoint_id is not None and target is not None and _is_paced(target):
            paced.setdefault(row.endpoint_id, []).append(row)
        else:
            deliveries.append(Delivery((row,), target, row.key))
    for endpoint_id, rows in paced.items():
        target = targets[endpoint_id]
        budget = limiter.budget(endpoint_id)
        chunks = [(row,) for row in rows] if len(rows) <= budget else fold(target, rows)
        for chunk in chunks[:budget]:
            key = digest_key(endpoint_id, chunk) if len(chunk) > 1 else chunk[0].key
            deliveries.append(Delivery(chunk, target, key, paced_endpoint=endpoint_id))
            limiter.started(endpoint_id)
        waiting = tuple(row for chunk in chunks[budget:] for row in chunk)
        if waiting:
            wait_s = limiter.wait_s(endpoint_id, in_flight_s=in_flight_s)
            held_back.append(HeldBack(waiting, wait_s))
    return Plan(deliveries, held_back)


def fold(target: Target, rows: Sequence[Claimed], wording: Wording) -> list[tuple[Claimed, ...]]:
    """Consecutive rows in chunks whose digest fits in one message of the target's kind."""
    limit = MAX_MARKDOWN_BYTES[EndpointKind(target.kind)]
    language = wording.language(target.language)
    chunks: list[tuple[Claimed, ...]] = []
    chunk: list[Claimed] = []
    payloads: list[dict[str, Any]] = []
    for row in rows:
        payload = json.loads(row.payload)
        longer = digest_message([*payloads, payload], wording, language).text
        if chunk and len(longer.encode("utf-8")) > limit:
            chunks.append(tuple(chunk))
            chunk, payloads = [], []
        chunk.append(row)
        payloads.append(payload)
    if chunk:
        chunks.append(tuple(chunk))
    return chunks


def message_of(delivery: Delivery, wording: Wording) -> RobotMessage:
    """The robot message of a delivery in its endpoint's language: one row, or their digest."""
    payloads = [json.loads(row.payload) for row in delivery.rows]
    language = wording.language(delivery.target.language if delivery.target else None)
    if delivery.is_digest:
        return digest_message(payloads, wording, language)
    return robot_message(payloads[0], wording, language)


def _is_paced(target: Target) -> bool:
    # A disabled endpoint goes the ordinary way: it is dead-lettered without sending.
    return target.enabled and target.kind in PACED_KINDS
