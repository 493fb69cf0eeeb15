"""WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content": …}}``.

The robot's URL carries its key (``…/cgi-bin/webhook/send?key=…``); it answers HTTP 200 with
``{"errcode": 0, "errmsg": "ok"}`` on success, and ``{"errcode": 45009, "errmsg": "api freq out
of limit"}`` when sent more than about 20 messages a minute.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from alerts.notifications.channels.http import IDEMPOTENCY_HEADER, check_response
from alerts.notifications.channels.text import RobotMessage

#: Errcodes by which the robot says "too fast".
WECOM_THROTTLE_CODES = frozenset({45009})
#: WeCom's limit on a markdown message's content (UTF-8 bytes).
WECOM_MAX_MARKDOWN_BYTES = 4096


def wecom_body(message: RobotMessage) -> dict[str, Any]:
    """The robot's markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": message.text}}


async def send_wecom(
    client: httpx.AsyncClient, *, url: str, key: str, message: RobotMessage
) -> None:
    """POST the markdown message; raises ``DeliveryError`` on non-2xx or ``errcode != 0``."""
    body = json.dumps(wecom_body(message), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key}
    response = await client.post(url, content=body, headers=headers)
    check_response(response, robot=True, throttle_codes=WECOM_THROTTLE_CODES)
