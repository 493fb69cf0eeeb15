"""Work-order commands: ``POST /api/v1/workorders/{id}/{ack,start,resolve,close,cancel}``,
``/reassign``, ``GET/POST /comments`` and ``GET /history``.

Every command names the version the client last saw (body ``version`` or ``If-Match``) and
answers with the updated order (as ``GET /api/v1/workorders/{id}``) and its ``ETag``. A refused
command changes nothing: its transaction rolls back before the error is answered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response, status

from alerts.errors import (
    AlertsError,
    ForbiddenTransitionError,
    OrderNotFoundError,
    StaleOrderError,
)
from alerts.orders.comments import add_comment, list_comments
from alerts.orders.lifecycle import COMMANDS, Action, history, reassign, transition
from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import ApiError, InvalidRequestError, NotFoundError
from api.escalation.errors import ConflictError
from api.schemas import ErrorOut
from api.workorders.command_schemas import (
    CommandIn,
    CommentIn,
    CommentOut,
    ReassignIn,
    TransitionOut,
)
from api.workorders.schemas import WorkOrderOut
from core.clock import utcnow
from storage.relational.models import WorkOrder

router = APIRouter(prefix="/api/v1/workorders", tags=["work-order lifecycle"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}
_READ_ERRORS: dict[int | str, dict[str, Any]] = {code: _ERRORS[code] for code in (401, 404, 503)}

_COMMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERRORS[code] for code in (401, 404, 422, 503)
}

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
    Header(description='the version you last saw, as an entity tag: "3" (instead of `version`)'),
]


def _version(body_version: int | None, if_match: str | None) -> int:
    """The version the client saw, from the body or If-Match; they must agree if both are sent."""
    header_version: int | None = None
    if if_match is not None:
        match = _ETAG.match(if_match)
        if match is None:
            raise InvalidRequestError(
                f'header If-Match {if_match!r} is not a version; send e.g. If-Match: "3"'
            )
        header_version = int(match.group(1))
    both = body_version is not None and header_version is not None
    if both and body_version != header_version:
        raise InvalidRequestError(
            f"body version {body_version} and If-Match {header_version} disagree; send one"
        )
    version = body_version if body_version is not None else header_version
    if version is None:
        raise InvalidRequestError(
            "send the order's version you last saw: body field 'version' or header "
            'If-Match: "<version>" (GET /api/v1/workorders/{id} shows it)'
        )
    return version


def _http_error(exc: AlertsError) -> ApiError:
    if isinstance(exc, OrderNotFoundError):
        return NotFoundError(kind="work order", key=exc.order_id)
    if isinstance(exc, StaleOrderError | ForbiddenTransitionError):
        return ConflictError(str(exc))
    return InvalidRequestError(str(exc))


async def _answer(
    response: Response, change: Callable[[], Awaitable[WorkOrder]], session: SessionDep
) -> WorkOrderOut:
    """Run ``change`` in one transaction; the order it returns, with its ETag."""
    try:
        async with session.begin():
            order = await change()
            out = WorkOrderOut.model_validate(order)
    except AlertsError as exc:
        raise _http_error(exc) from exc
    response.headers["ETag"] = f'"{order.version}"'
    return out


def _add_command_route(action: Action) -> None:
    async def command(
        order_id: int,
        response: Response,
        admin: AdminDep,
        session: SessionDep,
        site: SiteDep,
        body: Annotated[CommandIn | None, Body()] = None,
        if_match: IfMatch = None,
    ) -> WorkOrderOut:
        given = body or CommandIn()
        version = _version(given.version, if_match)
        return await _answer(
            response,
            lambda: transition(
                session,
                site=site,
                order_id=order_id,
                action=action,
                version=version,
                actor=admin.subject,
                note=given.note,
                on_behalf_of=given.on_behalf_of,
                now=utcnow(),
            ),
            session,
        )

    command.__doc__ = "409 if the order changed since ``version`` or its state forbids this."
    router.add_api_route(
        f"/{{order_id}}/{action.value}",
        command,
        methods=["POST"],
        summary=_SUMMARIES[action],
        responses=_ERRORS,
        name=f"workorder_{action.value}",
    )


for _action in COMMANDS:
    _add_command_route(_action)


@router.post("/{order_id}/reassign", summary="Hand the order to a team member", responses=_ERRORS)
async def reassign_route(
    order_id: int,
    body: ReassignIn,
    response: Response,
    admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    if_match: IfMatch = None,
) -> WorkOrderOut:
    """422 unless ``assignee`` is the leader or a member of the order's team."""
    version = _version(body.version, if_match)
    return await _answer(
        response,
        lambda: reassign(
            session,
            site=site,
            order_id=order_id,
            assignee=body.assignee,
            reason=body.reason,
            version=version,
            actor=admin.subject,
            on_behalf_of=body.on_behalf_of,
            now=utcnow(),
        ),
        session,
    )


@router.get("/{order_id}/history", summary="The order's transitions", responses=_READ_ERRORS)
async def history_route(
    order_id: int, _admin: AdminDep, session: SessionDep
) -> list[TransitionOut]:
    """Every status change and reassignment, oldest first."""
    try:
        rows = await history(session, order_id=order_id)
    except AlertsError as exc:
        raise _http_error(exc) from exc
    return [TransitionOut.model_validate(row) for row in rows]


@router.get("/{order_id}/comments", summary="The order's comments", responses=_READ_ERRORS)
async def list_comments_route(
    order_id: int, _admin: AdminDep, session: SessionDep
) -> list[CommentOut]:
    """Oldest first."""
    try:
        rows = await list_comments(session, order_id=order_id)
    except AlertsError as exc:
        raise _http_error(exc) from exc
    return [CommentOut.model_validate(row) for row in rows]


@router.post(
    "/{order_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on the order",
    responses=_COMMENT_ERRORS,
)
async def add_comment_route(
    order_id: int, body: CommentIn, admin: AdminDep, session: SessionDep, site: SiteDep
) -> CommentOut:
    """Allowed in every state; the order's version does not change."""
    try:
        async with session.begin():
            row = await add_comment(
                session,
                site=site,
                order_id=order_id,
                author=admin.subject,
                body=body.body,
                on_behalf_of=body.on_behalf_of,
                now=utcnow(),
            )
            out = CommentOut.model_validate(row)
    except AlertsError as exc:
        raise _http_error(exc) from exc
    return out
