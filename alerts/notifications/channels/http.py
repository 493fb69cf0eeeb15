"""What every HTTP channel shares: the idempotency header and the response check."""

from __future__ import annotations

from collections.abc import Collection

import httpx

from alerts.errors import DeliveryError, EndpointThrottledError

#: Header carrying the outbox row's idempotency key on every HTTP delivery.
IDEMPOTENCY_HEADER = "Idempotency-Key"

_MAX_ERROR_BODY = 200


def check_response(
    response: httpx.Response, *, robot: bool, throttle_codes: Collection[int] = ()
) -> None:
    """Raise unless the receiver accepted the message.

    Robots (WeCom, DingTalk) answer HTTP 200 even when they reject a message and say so in a
    JSON ``errcode``; anything but ``errcode == 0`` is a failure there. A robot's "too fast"
    (an errcode in ``throttle_codes``, or HTTP 429) raises ``EndpointThrottledError``.
    """
    if robot and response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        raise EndpointThrottledError(f"HTTP 429: {_excerpt(response)}")
    if not response.is_success:
        raise DeliveryError(f"HTTP {response.status_code}: {_excerpt(response)}")
    if not robot:
        return
    try:
        answer = response.json()
    except ValueError as exc:
        raise DeliveryError(f"robot answered non-JSON: {_excerpt(response)}") from exc
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode in throttle_codes:
        raise EndpointThrottledError(f"robot asked to slow down: {_excerpt(response)}")
    if errcode != 0:
        raise DeliveryError(f"robot refused the message: {_excerpt(response)}")


def _excerpt(response: httpx.Response) -> str:
    return response.text[:_MAX_ERROR_BODY]
