"""Robot pacing without servers: the sliding window, folding into digests, "too fast" answers."""

from __future__ import annotations

import json

import httpx
import pytest

from alerts.errors import DeliveryError, EndpointThrottledError
from alerts.notifications.channels.dingtalk import DINGTALK_THROTTLE_CODES
from alerts.notifications.channels.http import check_response
from alerts.notifications.channels.text import digest_message
from alerts.notifications.channels.wecom import WECOM_MAX_MARKDOWN_BYTES, WECOM_THROTTLE_CODES
from alerts.notifications.leases import Claimed, Target
from alerts.notifications.pacing import EndpointLimiter, digest_key, fold, plan
from alerts.notifications.wording.compose import Wording
from tests.alerts.robot_support import storm_site

WINDOW_S = 60.0
MAX = 3
ROBOT = 7
DINGTALK = Target(kind="dingtalk", url="http://robot", secret=None, enabled=True)
WECOM = Target(kind="wecom", url="http://robot", secret=None, enabled=True)
WEBHOOK = Target(kind="webhook", url="http://hook", secret=None, enabled=True)


class Ticker:
    """A monotonic test clock."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _limiter(ticker: Ticker) -> EndpointLimiter:
    return EndpointLimiter(max_per_window=MAX, window_s=WINDOW_S, clock=ticker)


def _send(limiter: EndpointLimiter, times: int) -> None:
    for _ in range(times):
        limiter.started(ROBOT)
        limiter.finished(ROBOT)


def _row(n: int, endpoint_id: int = ROBOT, device: str = "light-000") -> Claimed:
    payload = {
        "order_id": n,
        "change": "opened",
        "fault_code": "lamp_failure",
        "severity": "minor",
        "tier": "grid",
        "grid_id": "g1",
        "device_id": device,
        "at": "2025-03-01T08:00:00+00:00",
    }
    return Claimed(
        n, f"{n}:1:opened:ep{endpoint_id}", "dingtalk", None, endpoint_id, json.dumps(payload), 0
    )


def test_the_window_frees_a_slot_when_its_oldest_send_is_a_window_old() -> None:
    ticker = Ticker()
    limiter = _limiter(ticker)
    _send(limiter, 1)
    ticker.now += 10
    _send(limiter, 2)
    assert limiter.budget(ROBOT) == 0
    assert limiter.wait_s(ROBOT, in_flight_s=5) == pytest.approx(WINDOW_S - 10)
    ticker.now += WINDOW_S - 10
    assert limiter.budget(ROBOT) == 1
    assert limiter.budget(ROBOT + 1) == MAX  # every endpoint has its own window


def test_sends_in_flight_hold_their_slot_until_they_finish() -> None:
    ticker = Ticker()
    limiter = _limiter(ticker)
    for _ in range(MAX):
        limiter.started(ROBOT)
    assert limiter.budget(ROBOT) == 0
    assert limiter.wait_s(ROBOT, in_flight_s=5) == 5
    ticker.now += 2
    limiter.finished(ROBOT)  # counts from when it finished, not when it started
    ticker.now += WINDOW_S - 1
    assert limiter.budget(ROBOT) == 0
    ticker.now += 1
    assert limiter.budget(ROBOT) == 1


def test_a_back_off_blocks_only_its_endpoint_for_its_duration() -> None:
    ticker = Ticker()
    limiter = _limiter(ticker)
    limiter.back_off(ROBOT, 600)
    assert limiter.budget(ROBOT) == 0 and limiter.budget(ROBOT + 1) == MAX
    assert limiter.wait_s(ROBOT, in_flight_s=5) == 600
    ticker.now += 600
    assert limiter.budget(ROBOT) == MAX


def test_rows_within_budget_go_one_message_each() -> None:
    limiter = _limiter(Ticker())
    rows = [_row(n) for n in range(1, MAX + 1)]
    work = plan(rows, {ROBOT: DINGTALK}, limiter, fold=_no_fold, in_flight_s=5)
    assert [d.key for d in work.deliveries] == [row.key for row in rows]
    assert work.held_back == [] and limiter.budget(ROBOT) == 0


def test_rows_beyond_the_budget_fold_into_one_digest_with_a_key_from_their_ids() -> None:
    ticker = Ticker()
    limiter = _limiter(ticker)
    _send(limiter, MAX - 1)
    rows = [_row(n) for n in range(1, 6)]
    work = plan(rows, {ROBOT: DINGTALK}, limiter, fold=_fold, in_flight_s=5)
    [digest] = work.deliveries
    assert digest.rows == tuple(rows) and digest.is_digest
    assert digest.key == digest_key(ROBOT, reversed(rows)) != digest_key(ROBOT, rows[:4])
    assert work.held_back == [] and limiter.budget(ROBOT) == 0


def test_a_full_window_holds_rows_back_and_never_paces_webhooks() -> None:
    ticker = Ticker()
    limiter = _limiter(ticker)
    _send(limiter, MAX)
    hook = _row(9, endpoint_id=ROBOT + 1)
    rows = [_row(1), _row(2), hook]
    work = plan(rows, {ROBOT: DINGTALK, ROBOT + 1: WEBHOOK}, limiter, fold=_fold, in_flight_s=5)
    assert [d.rows for d in work.deliveries] == [(hook,)]
    [held] = work.held_back
    assert held.rows == (rows[0], rows[1]) and held.wait_s == pytest.approx(WINDOW_S)


def test_a_wecom_digest_splits_to_fit_the_platform_limit_and_names_every_order() -> None:
    site = storm_site(1, per_building=1)
    rows = [_row(n) for n in range(1, 101)]
    wording = Wording(site=site, public_url="http://localhost:8000")
    chunks = fold(WECOM, rows, wording)
    assert len(chunks) > 1 and [row for chunk in chunks for row in chunk] == rows
    for chunk in chunks:
        payloads = [json.loads(row.payload) for row in chunk]
        text = digest_message(payloads, wording, wording.default_language).text
        assert len(text.encode("utf-8")) <= WECOM_MAX_MARKDOWN_BYTES
        assert all(f"**#{row.id}**" in text for row in chunk)
    assert "Block 1 · No. 1 Shuncheng Road" in text


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (b'{"errcode":130101,"errmsg":"send too fast"}', DINGTALK_THROTTLE_CODES),
        (b'{"errcode":45009,"errmsg":"api freq out of limit"}', WECOM_THROTTLE_CODES),
    ],
)
def test_a_robots_too_fast_answer_is_a_throttle_not_a_failure(
    body: bytes, codes: frozenset[int]
) -> None:
    with pytest.raises(EndpointThrottledError):
        check_response(httpx.Response(200, content=body), robot=True, throttle_codes=codes)
    with pytest.raises(EndpointThrottledError):
        check_response(httpx.Response(429, content=b"slow down"), robot=True, throttle_codes=codes)
    refused = b'{"errcode":93000,"errmsg":"invalid webhook url"}'
    with pytest.raises(DeliveryError) as caught:
        check_response(httpx.Response(200, content=refused), robot=True, throttle_codes=codes)
    assert not isinstance(caught.value, EndpointThrottledError)


def _no_fold(target: Target, rows: object) -> list[tuple[Claimed, ...]]:
    raise AssertionError("rows within budget must not be folded")


def _fold(target: Target, rows: list[Claimed]) -> list[tuple[Claimed, ...]]:
    return fold(target, rows, Wording(site=None, public_url="http://localhost:8000"))
