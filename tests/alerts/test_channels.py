"""The HTTP channels against a real local receiver: shapes, signing, what counts as failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from alerts.errors import DeliveryError
from alerts.notifications.channels.dingtalk import send_dingtalk
from alerts.notifications.channels.text import robot_message
from alerts.notifications.channels.webhook import send_webhook
from alerts.notifications.channels.wecom import send_wecom
from alerts.notifications.wording.compose import Wording
from storage.relational.outbox_models import Language
from tests.alerts.receiver import HttpReceiver

PAYLOAD: dict[str, Any] = {
    "id": "7:1:opened:ep3",
    "change": "opened",
    "order_id": 7,
    "device_id": "shed-3",
    "fault_code": "smoke",
    "severity": "critical",
    "priority": 9,
    "status": "open",
    "tier": "grid",
    "team_id": "t1",
    "grid_id": "g1",
    "assignee": "lead-1",
    "at": "2025-03-01T08:00:00+00:00",
}

#: No site at hand: the words fall back to the payload's ids.
WORDING = Wording(site=None, public_url="https://fm.example.org")


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def test_webhook_without_secret_is_unsigned(
    receiver: HttpReceiver, client: httpx.AsyncClient
) -> None:
    await send_webhook(
        client, url=receiver.url(), secret=None, key="k1", body=b'{"a":1}', timestamp=1
    )
    [request] = receiver.requests
    assert request.body == b'{"a":1}' and request.headers["idempotency-key"] == "k1"
    assert "x-fm-signature" not in request.headers


async def test_webhook_non_2xx_is_a_failure(
    receiver: HttpReceiver, client: httpx.AsyncClient
) -> None:
    receiver.answer((404, b"no such hook"))
    with pytest.raises(DeliveryError, match="HTTP 404: no such hook"):
        await send_webhook(client, url=receiver.url(), secret="x", key="k", body=b"{}", timestamp=1)


async def test_wecom_markdown_shape(receiver: HttpReceiver, client: httpx.AsyncClient) -> None:
    url = receiver.url("/cgi-bin/webhook/send?key=robot-key")
    await send_wecom(
        client, url=url, key=PAYLOAD["id"], message=robot_message(PAYLOAD, WORDING, Language.EN)
    )
    [request] = receiver.requests
    assert request.query == {"key": "robot-key"}
    body = request.json()
    assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
    content = body["markdown"]["content"]
    assert "smoke alarm" in content and "#7" in content and "shed-3" in content
    assert "lead-1" in content and "(https://fm.example.org/#/crew?order=7)" in content
    assert request.headers["idempotency-key"] == PAYLOAD["id"]


@pytest.mark.parametrize(
    "answer",
    [
        (200, b'{"errcode":93000,"errmsg":"invalid webhook url"}'),
        (200, b"not json"),
        (502, b'{"errcode":0}'),
    ],
)
async def test_robot_failures(
    receiver: HttpReceiver, client: httpx.AsyncClient, answer: tuple[int, bytes]
) -> None:
    receiver.answer(answer, answer)
    with pytest.raises(DeliveryError):
        await send_wecom(
            client,
            url=receiver.url(),
            key="k",
            message=robot_message(PAYLOAD, WORDING, Language.EN),
        )
    with pytest.raises(DeliveryError):
        await send_dingtalk(
            client,
            url=receiver.url(),
            secret=None,
            key="k",
            message=robot_message(PAYLOAD, WORDING, Language.EN),
            timestamp_ms=1,
        )


async def test_dingtalk_signed_markdown_keeps_the_access_token(
    receiver: HttpReceiver, client: httpx.AsyncClient
) -> None:
    secret = "SEC0123456789abcdef"
    timestamp_ms = 1_700_000_000_123
    url = receiver.url("/robot/send?access_token=tok")
    await send_dingtalk(
        client,
        url=url,
        secret=secret,
        key="k",
        message=robot_message(PAYLOAD, WORDING, Language.EN),
        timestamp_ms=timestamp_ms,
    )
    [request] = receiver.requests
    # DingTalk's documented recipe: base64(HMAC-SHA256(secret, "ts\nsecret")), url-encoded.
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    expected = base64.b64encode(digest.digest()).decode()
    assert request.query == {
        "access_token": "tok",
        "timestamp": str(timestamp_ms),
        "sign": expected,
    }
    assert f"sign={quote_plus(expected)}" in request.target
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "New work order: smoke alarm at shed-3"
    assert body["markdown"]["text"].startswith("### New work order: smoke alarm at shed-3")


async def test_dingtalk_without_secret_is_unsigned(
    receiver: HttpReceiver, client: httpx.AsyncClient
) -> None:
    await send_dingtalk(
        client,
        url=receiver.url("/robot/send?access_token=tok"),
        secret=None,
        key="k",
        message=robot_message(PAYLOAD, WORDING, Language.EN),
        timestamp_ms=1,
    )
    assert receiver.requests[0].query == {"access_token": "tok"}
