"""DingTalk (钉钉) group robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``.

With a signing secret ("加签"), the URL gets ``timestamp`` (epoch milliseconds) and ``sign`` =
url-encoded base64 of HMAC-SHA256(secret, "<timestamp>\\n<secret>"). Success is HTTP 200 with
``{"errcode": 0}``. A robot sent more than 20 messages a minute answers ``errcode`` 130101 ("send
too fast") and refuses that robot's messages for 10 minutes; 410100 is its other "too fast" code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from alerts.notifications.channels.http import IDEMPOTENCY_HEADER, check_response
from alerts.notifications.channels.text import RobotMessage

#: Errcodes by which the robot says "too fast".
DINGTALK_THROTTLE_CODES = frozenset({130101, 410100})
#: A conservative ceiling for one DingTalk markdown message's text (UTF-8 bytes).
DINGTALK_MAX_MARKDOWN_BYTES = 15_000


def dingtalk_sign(secret: str, *, timestamp_ms: int) -> str:
    """Base64 HMAC-SHA256 of ``"<timestamp_ms>\\n<secret>"`` keyed by the secret (not encoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_body(message: RobotMessage) -> dict[str, Any]:
    """The robot's markdown message."""
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}


async def send_dingtalk(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str | None,
    key: str,
    message: RobotMessage,
    timestamp_ms: int,
) -> None:
    """POST the markdown message, signed when a secret is set; raises ``DeliveryError``."""
    body = json.dumps(dingtalk_body(message), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    target = httpx.URL(url)
    if secret:
        # Merged into the robot's own query (its access_token); httpx url-encodes the base64.
        sign = dingtalk_sign(secret, timestamp_ms=timestamp_ms)
        target = target.copy_merge_params({"timestamp": str(timestamp_ms), "sign": sign})
    response = await client.post(target, content=body, headers=headers)
    check_response(response, robot=True, throttle_codes=DINGTALK_THROTTLE_CODES)
