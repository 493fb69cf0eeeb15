"""DingTalk (钉钉) group robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``.

With a signing secret ("加签"), the URL gets ``timestamp`` (epoch milliseconds) and ``sign`` =
url-encoded base64 of HMAC-SHA256(secret, "<timestamp>\\n<secret>"). Success is HTTP 200 with
``{"errcode": 0}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from alerts.notifications.channels.http import IDEMPOTENCY_HEADER, check_response
from alerts.notifications.channels.text import markdown, title


def dingtalk_sign(secret: str, *, timestamp_ms: int) -> str:
    """Base64 HMAC-SHA256 of ``"<timestamp_ms>\\n<secret>"`` keyed by the secret (not encoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The robot's markdown message for a notification."""
    return {"msgtype": "markdown", "markdown": {"title": title(payload), "text": markdown(payload)}}


async def send_dingtalk(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str | None,
    key: str,
    payload: dict[str, Any],
    timestamp_ms: int,
) -> None:
    """POST the markdown message, signed when a secret is set; raises ``DeliveryError``."""
    body = json.dumps(dingtalk_body(payload), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    target = httpx.URL(url)
    if secret:
        # Merged into the robot's own query (its access_token); httpx url-encodes the base64.
        sign = dingtalk_sign(secret, timestamp_ms=timestamp_ms)
        target = target.copy_merge_params({"timestamp": str(timestamp_ms), "sign": sign})
    response = await client.post(target, content=body, headers=headers)
    check_response(response, robot=True)
