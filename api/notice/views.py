"""``GET /api/v1/grids/{grid_id}/notice`` (JSON) and ``GET /notice/{grid_id}`` (a plain page).

Public, like a board on the wall of the building: no token. It shows the grid team, the
service phone, members' contact details only where they chose to publish them, and the open
problems in plain words — never anything about a resident.
"""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SiteDep
from api.errors import NotFoundError
from residents.notice import NoticeBoard, notice_board

router = APIRouter(tags=["notice"])

# The page is static text: no script, no style, no outside resource.
_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


async def _board(session: SessionDep, site: SiteDep, grid_id: str) -> NoticeBoard:
    if grid_id not in site.grids:
        raise NotFoundError(kind="grid", key=grid_id)
    return await notice_board(session, site=site, grid_id=grid_id)


@router.get("/api/v1/grids/{grid_id}/notice")
async def notice_json(grid_id: str, session: SessionDep, site: SiteDep) -> dict[str, Any]:
    """The grid's notice board as JSON."""
    return asdict(await _board(session, site, grid_id))


@router.get("/notice/{grid_id}", response_class=HTMLResponse)
async def notice_page(grid_id: str, session: SessionDep, site: SiteDep) -> HTMLResponse:
    """The grid's notice board as a page to print or open on a phone."""
    board = await _board(session, site, grid_id)
    return HTMLResponse(render_page(board), headers={"Content-Security-Policy": _PAGE_POLICY})


def render_page(board: NoticeBoard) -> str:
    """The notice board as a small, self-contained HTML page (every value escaped)."""
    members = "".join(
        "<li>"
        + escape(f"{m.name} — {m.role}")
        + (escape(f"; answers for {', '.join(m.buildings)}") if m.buildings else "")
        + (escape(f"; phone {m.phone}") if m.phone else "")
        + (escape(f"; e-mail {m.email}") if m.email else "")
        + "</li>"
        for m in board.members
    )
    problems = (
        "".join(
            f"<li>{escape(p.building)}: {escape(p.problem)} — {escape(p.status)}"
            f" ({escape(p.who)}, since {escape(p.since)})</li>"
            for p in board.open_problems
        )
        or "<li>No open problems.</li>"
    )
    phone = (
        f"<p>Call the grid team: <strong>{escape(board.service_phone)}</strong></p>"
        if board.service_phone
        else ""
    )
    title = escape(f"{board.grid_name} — {board.community_name}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>{escape(board.team_name)} serves this grid. "
        "Join the network: the people call, we answer.</p>"
        f"{phone}<h2>Your grid team</h2><ul>{members}</ul>"
        f"<h2>Problems being handled</h2><ul>{problems}</ul></body></html>"
    )
