"""/api/v1/notification-endpoints and /api/v1/outbox."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.raising import handle_event
from api.notifications.schemas import masked
from core.events import DeviceEvent, EventSource
from governance.model import Site
from sensors.catalogue import Severity
from tests.api.conftest import T0

ENDPOINTS = "/api/v1/notification-endpoints"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-123"


async def test_create_list_delete_without_leaking_secrets(client: httpx.AsyncClient) -> None:
    created = await client.post(
        ENDPOINTS,
        json={"kind": "wecom", "url": WECOM, "scope_kind": "grid", "scope_id": "sun-1"},
    )
    assert created.status_code == 201, created.text
    hook = await client.post(
        ENDPOINTS,
        json={
            "kind": "webhook",
            "url": "https://ops.example.org/fm",
            "secret": "a-long-hmac-secret",
            "scope_kind": "community",
            "scope_id": "sunshine",
        },
    )
    listed = (await client.get(ENDPOINTS)).json()
    assert [e["id"] for e in listed] == [created.json()["id"], hook.json()["id"]]
    assert listed[0]["url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
    assert (listed[0]["has_secret"], listed[1]["has_secret"]) == (False, True)
    assert "robot-key-123" not in created.text + hook.text + str(listed)
    assert "a-long-hmac-secret" not in hook.text + str(listed)
    assert "secret" not in listed[1]
    deleted = await client.delete(f"{ENDPOINTS}/{created.json()['id']}")
    assert deleted.status_code == 204
    assert [e["id"] for e in (await client.get(ENDPOINTS)).json()] == [hook.json()["id"]]
    missing = await client.delete(f"{ENDPOINTS}/{created.json()['id']}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://oapi.dingtalk.com/robot/send?access_token=t0k3n&timestamp=1&sign=a%2Bb",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***",
        ),
        ("https://ops.example.org/hook?a%20key=v#frag", "https://ops.example.org/hook?a+key=***"),
        ("https://ops.example.org/hook", "https://ops.example.org/hook"),
    ],
)
def test_the_mask_reads_as_stars_and_hides_every_query_value(url: str, shown: str) -> None:
    assert masked(url) == shown


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://x.example.org/"}, "http:// or https://"),
        ({"url": "not a url"}, "http:// or https://"),
        ({"scope_id": "no-such-grid"}, "unknown grid 'no-such-grid'"),
        ({"scope_kind": "department", "scope_id": "fire"}, "unknown department"),
        ({"kind": "telegram"}, "kind"),
        ({"secret": "short"}, "secret"),
        ({"colour": "red"}, "colour"),
        ({"language": "fr"}, "language"),
    ],
)
async def test_bad_endpoints_are_refused_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, str], message: str
) -> None:
    good = {"kind": "webhook", "url": "https://x.example.org/", "scope_kind": "grid"}
    response = await client.post(ENDPOINTS, json={**good, "scope_id": "sun-1", **body})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert (await client.get(ENDPOINTS)).json() == []


async def test_the_language_round_trips_and_defaults_to_the_sites(
    client: httpx.AsyncClient,
) -> None:
    base = {"kind": "dingtalk", "url": WECOM, "scope_kind": "grid", "scope_id": "sun-1"}
    english = await client.post(ENDPOINTS, json={**base, "language": "en"})
    chinese = await client.post(ENDPOINTS, json={**base, "language": "zh"})
    default = await client.post(ENDPOINTS, json=base)
    assert [r.json()["language"] for r in (english, chinese, default)] == ["en", "zh", None]
    listed = (await client.get(ENDPOINTS)).json()
    assert [e["language"] for e in listed] == ["en", "zh", None]


async def test_routes_need_the_admin_token(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", ENDPOINTS), ("POST", ENDPOINTS), ("GET", "/api/v1/outbox")]:
        response = await client.request(method, path, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401


async def test_outbox_lists_notifications_by_state(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    event = DeviceEvent("light-1", "lamp_failure", True, Severity.MINOR, T0, EventSource.RULE)
    async with sessions.begin() as session:
        [change] = await handle_event(session, site=site, event=event, now=T0)
    everything = await client.get("/api/v1/outbox")
    assert everything.headers["X-Total-Count"] == "2"
    assert {(r["channel"], r["state"]) for r in everything.json()} == {
        ("mqtt", "pending"),
        ("sse", "delivered"),
    }
    pending = (await client.get("/api/v1/outbox", params={"state": "pending"})).json()
    assert [(r["order_id"], r["team_id"], r["event"]) for r in pending] == [
        (change.order_id, "t-sun-1", "opened")
    ]
    assert (await client.get("/api/v1/outbox", params={"state": "dead"})).json() == []
    assert (await client.get("/api/v1/outbox", params={"state": "lost"})).status_code == 422
