"""WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content": …}}``.

The robot's URL carries its key (``…/cgi-bin/webhook/send?key=…``); it answers HTTP 200 with
``{"errcode": 0, "errmsg": "ok"}`` on success.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from alerts.notifications.channels.http import IDEMPOTENCY_HEADER, check_response
from alerts.notifications.channels.text import markdown


def wecom_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The robot's markdown message for a notification."""
    return {"msgtype": "markdown", "markdown": {"content": markdown(payload)}}


async def send_wecom(
    client: httpx.AsyncClient, *, url: str, key: str, payload: dict[str, Any]
) -> None:
    """POST the markdown message; raises ``DeliveryError`` on non-2xx or ``errcode != 0``."""
    body = json.dumps(wecom_body(payload), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    response = await client.post(url, content=body, headers=headers)
    check_response(response, robot=True)
