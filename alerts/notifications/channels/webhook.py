"""Plain webhooks: the notification JSON, POSTed and HMAC-SHA256 signed when a secret is set.

Receivers verify ``X-FM-Signature: sha256=<hex>`` over ``<X-FM-Timestamp>.<raw body>`` with the
shared secret, reject stale timestamps, and dedupe on ``Idempotency-Key`` (also ``id`` in the
body).
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from alerts.notifications.channels.http import IDEMPOTENCY_HEADER, check_response

SIGNATURE_HEADER = "X-FM-Signature"
TIMESTAMP_HEADER = "X-FM-Timestamp"


def webhook_signature(secret: str, *, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


async def send_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str | None,
    key: str,
    body: bytes,
    timestamp: int,
) -> None:
    """POST ``body``; raises ``DeliveryError`` unless the receiver answers 2xx."""
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    if secret:
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = webhook_signature(secret, timestamp=timestamp, body=body)
    response = await client.post(url, content=body, headers=headers)
    check_response(response, robot=False)
