"""Work-order commands: ``POST /api/v1/workorders/{id}/{ack,start,resolve,close,cancel}``,
``/reassign``, ``GET/POST /comments`` and ``GET /history``.

The version is optional: the transition table is the guard (acknowledging an order someone
already acknowledged answers 409 either way). A client that sends the version it last saw (body
``version`` or ``If-Match``) also gets 409 when anything else changed the order since. Every
command answers with the updated order (as ``GET /api/v1/workorders/{id}``) and its ``ETag``. A
refused command changes nothing: the request's session rolls back before the error is answered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Header, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import StaleOrderError
from alerts.orders.comments import add_comment, list_comments
from alerts.orders.lifecycle import COMMANDS, Action, history, reassign, transition
from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.errors import InvalidRequestError
from api.responses import COMMAND_ERRORS, ITEM_ERRORS, LOOKUP_ERRORS
from api.schemas import MAX_ROW_NUMBER, RowIdPath
from api.workorders.command_schemas import (
    CommandIn,
    CommentIn,
    CommentOut,
    ReassignIn,
    TransitionOut,
)
from api.workorders.queries import get_work_order
from api.workorders.schemas import WorkOrderOut
from storage.relational.models import WorkOrder

router = APIRouter(prefix="/api/v1/workorders", tags=["work-order lifecycle"])

_SUMMARIES = {
    Action.ACK: "Acknowledge the order",
    Action.START: "Start work (from resolved: rework)",
    Action.RESOLVE: "Report the fault fixed",
    Action.CLOSE: "Close a resolved order, saying how it was fixed",
    Action.CANCEL: "Cancel a false alarm, saying why",
}

# An entity tag as sent in If-Match: "3", W/"3" or a bare 3.
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')

IfMatch = Annotated[
    str | None,
    Header(
        description='optional: the version you last saw as an entity tag, "3" (or body `version`)'
    ),
]


def _sent_version(body_version: int | None, if_match: str | None) -> int | None:
    """The version the client saw, from the body or If-Match (they must agree); None if unsent."""
    header_version: int | None = None
    if if_match is not None:
        match = _ETAG.match(if_match)
        if match is None:
            raise InvalidRequestError(
                f'header If-Match {if_match!r} is not a version; send e.g. If-Match: "3"'
            )
        header_version = int(match.group(1))
        if header_version > MAX_ROW_NUMBER:
            raise InvalidRequestError(f"If-Match {header_version} is not a version of any order")
    both = body_version is not None and header_version is not None
    if both and body_version != header_version:
        raise InvalidRequestError(
            f"body version {body_version} and If-Match {header_version} disagree; send one"
        )
    return body_version if body_version is not None else header_version


async def run_guarded(
    session: AsyncSession,
    order_id: int,
    sent: int | None,
    command: Callable[[int], Awaitable[WorkOrder]],
) -> WorkOrder:
    """Run ``command`` against the version sent, else against the stored one.

    Without a version only the transition table guards the command. The write stays conditional
    on the version read here, so when someone else's change commits between this read and the
    write, the command is judged once more against the order as it now is: it then goes through
    or answers 409 for the state it meets, never for a version the client did not send.
    """
    if sent is not None:
        return await command(sent)
    try:
        return await command((await get_work_order(session, order_id=order_id)).version)
    except StaleOrderError:
        return await command((await get_work_order(session, order_id=order_id)).version)


def _answer(response: Response, order: WorkOrder) -> WorkOrderOut:
    """The changed order as the body, its version as the ETag."""
    response.headers["ETag"] = f'"{order.version}"'
    return WorkOrderOut.model_validate(order)


def _add_command_route(action: Action) -> None:
    async def command(
        order_id: RowIdPath,
        response: Response,
        admin: AdminDep,
        session: SessionDep,
        site: SiteDep,
        now: NowDep,
        body: Annotated[CommandIn | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> WorkOrderOut:
        given = body or CommandIn()

        async def apply(version: int) -> WorkOrder:
            return await transition(
                session,
                site=site,
                order_id=order_id,
                action=action,
                version=version,
                actor=admin.subject,
                note=given.note,
                on_behalf_of=given.on_behalf_of,
                now=now,
            )

        sent = _sent_version(given.version, if_match)
        return _answer(response, await run_guarded(session, order_id, sent, apply))

    command.__doc__ = "409 if the order's state forbids this, or it changed since ``version``."
    router.add_api_route(
        f"/{{order_id}}/{action.value}",
        command,
        methods=["POST"],
        summary=_SUMMARIES[action],
        responses=COMMAND_ERRORS,
        name=f"workorder_{action.value}",
    )


for _action in COMMANDS:
    _add_command_route(_action)


@router.post(
    "/{order_id}/reassign", summary="Hand the order to a team member", responses=COMMAND_ERRORS
)
async def reassign_route(
    order_id: RowIdPath,
    body: ReassignIn,
    response: Response,
    admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    if_match: IfMatch = None,
) -> WorkOrderOut:
    """422 unless ``assignee`` is the leader or a member of the order's team."""

    async def apply(version: int) -> WorkOrder:
        return await reassign(
            session,
            site=site,
            order_id=order_id,
            assignee=body.assignee,
            reason=body.reason,
            version=version,
            actor=admin.subject,
            on_behalf_of=body.on_behalf_of,
            now=now,
        )

    sent = _sent_version(body.version, if_match)
    return _answer(response, await run_guarded(session, order_id, sent, apply))


@router.get("/{order_id}/history", summary="The order's transitions", responses=LOOKUP_ERRORS)
async def history_route(
    order_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> list[TransitionOut]:
    """Every status change and reassignment, oldest first."""
    return [TransitionOut.model_validate(row) for row in await history(session, order_id=order_id)]


@router.get("/{order_id}/comments", summary="The order's comments", responses=LOOKUP_ERRORS)
async def list_comments_route(
    order_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> list[CommentOut]:
    """Oldest first."""
    rows = await list_comments(session, order_id=order_id)
    return [CommentOut.model_validate(row) for row in rows]


@router.post(
    "/{order_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on the order",
    responses=ITEM_ERRORS,
)
async def add_comment_route(
    order_id: RowIdPath,
    body: CommentIn,
    admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
) -> CommentOut:
    """Allowed in every state; the order's version does not change."""
    row = await add_comment(
        session,
        site=site,
        order_id=order_id,
        author=admin.subject,
        body=body.body,
        on_behalf_of=body.on_behalf_of,
        now=now,
    )
    return CommentOut.model_validate(row)
