"""No public endpoint returns a reporter's contact or a member's unpublished contact; the notice
board shows the team and the open problems in plain words."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.lifecycle import Action
from alerts.orders.raising import handle_event
from core.events import DeviceEvent, EventSource
from governance.model import Site
from sensors.catalogue import Severity
from tests.residents.conftest import (
    PUBLISHED_PHONE,
    SECRET_LEADER_EMAIL,
    SECRET_LEADER_PHONE,
    SERVICE_PHONE,
)
from tests.residents.support import V2, crew, feedback, order_of, submit

CONTACT = {
    "email": "private.reporter@example.org",
    "phone": "13512345678",
    "first_name": "Xiaoming",
    "last_name": "Reportersurname",
    "device_id": "phone-device-7788",
    "account_id": "acct-445566",
}
DESCRIPTION = "Water pours from the ceiling of flat 301"


async def test_no_public_answer_carries_contact_details(
    public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    created = await submit(
        public,
        service_code="water_leak",
        address_id="b-sun-1",
        description=DESCRIPTION,
        lat="36.2",
        long="116.77",
        **CONTACT,
    )
    request_id, token = created["service_request_id"], created["token"]
    await crew(sessions, site, (await order_of(sessions, request_id)).id, Action.RESOLVE)
    answers = [str(created)]
    answers.append((await feedback(public, request_id, token=token, rating="3")).text)
    for fmt in ("json", "xml"):
        for path in (
            f"services.{fmt}",
            f"services/water_leak.{fmt}",
            f"requests.{fmt}",
            f"requests.{fmt}?service_request_id={request_id}",
            f"requests.{fmt}?status=closed",
            f"requests/{request_id}.{fmt}",
            f"tokens/{token}.{fmt}",
        ):
            response = await public.get(f"{V2}/{path}")
            assert response.status_code == 200, (path, response.text)
            answers.append(response.text)
    for grid_id in site.grids:
        answers.append((await public.get(f"/api/v1/grids/{grid_id}/notice")).text)
        answers.append((await public.get(f"/notice/{grid_id}")).text)
    seen = "\n".join(answers)
    assert request_id in seen  # the answers are about this report…
    for secret in (*CONTACT.values(), SECRET_LEADER_PHONE, SECRET_LEADER_EMAIL):
        assert secret not in seen, secret  # …and none of them says how to reach anyone private
    assert PUBLISHED_PHONE in seen and SERVICE_PHONE in seen


async def test_notice_board_lists_team_phone_and_open_problems(
    public: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    now = datetime.now(UTC)
    event = DeviceEvent("light-1", "lamp_failure", True, Severity.MINOR, now, EventSource.RULE)
    async with sessions.begin() as session:
        await handle_event(session, site=site, event=event, now=now)
    await submit(public, service_code="water_leak", address_id="b-sun-1", description=DESCRIPTION)
    board = (await public.get("/api/v1/grids/sun-1/notice")).json()
    assert board["service_phone"] == SERVICE_PHONE
    assert board["team_name"] == "Team Sunshine grid 1"
    roles = {member["name"]: member for member in board["members"]}
    assert roles["Leader sun-1"]["role"] == "grid leader"
    assert roles["Leader sun-1"]["phone"] is None  # not published
    assert roles["Member sun-1"]["phone"] == PUBLISHED_PHONE
    assert roles["Member sun-1"]["buildings"] == ["Building of Sunshine grid 1"]
    problems = sorted(p["problem"] for p in board["open_problems"])
    assert problems == [
        "corridor light (Stair light 1): lamp failure",
        "reported by residents: Water leak (漏水)",
    ]
    assert {p["who"] for p in board["open_problems"]} == {"Member sun-1"}
    page = await public.get("/notice/sun-1")
    assert page.headers["content-type"].startswith("text/html")
    assert "lamp failure" in page.text and SERVICE_PHONE in page.text
    assert DESCRIPTION not in page.text and DESCRIPTION not in str(board)
    other = (await public.get("/api/v1/grids/steel-1/notice")).json()
    assert other["open_problems"] == [] and other["service_phone"] is None
    assert (await public.get("/api/v1/grids/nowhere/notice")).status_code == 404
    assert (await public.get("/notice/nowhere")).status_code == 404
