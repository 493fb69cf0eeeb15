"""``GET /api/v1/stream``: committed work-order changes as server-sent events.

``id:`` is the outbox id, ``event:`` the change kind, ``data:`` the JSON notification. A
client reconnecting with ``Last-Event-ID`` first gets what it missed (up to
``FM_STREAM_REPLAY_MAX`` events) from the outbox table. Idle streams carry a comment line
every ``FM_STREAM_HEARTBEAT_S`` so proxies keep them open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse

from alerts.notifications.channels.broadcast import StreamHub, Subscription, stream_events
from api.deps import AdminDep, ResourcesDep
from api.errors import BadRequestError
from api.resources import AppResources
from api.responses import REQUEST_ERRORS
from api.schemas import MAX_ROW_NUMBER

router = APIRouter(prefix="/api/v1", tags=["stream"])

HEARTBEAT = b": heartbeat\n\n"
MEDIA_TYPE = "text/event-stream"


def get_hub(request: Request, resources: ResourcesDep) -> StreamHub:
    """The app's stream hub, made on first use (its tail runs only while clients listen)."""
    hub: StreamHub | None = getattr(request.app.state, "stream_hub", None)
    if hub is None:
        hub = StreamHub(sessions=resources.sessions, settings=resources.settings)
        request.app.state.stream_hub = hub
    return hub


HubDep = Annotated[StreamHub, Depends(get_hub)]


#: Event ids are outbox row ids; more digits than this cannot name one.
_MAX_EVENT_ID_DIGITS = len(str(MAX_ROW_NUMBER))


def _last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    # The length is checked before int(): Python refuses to convert thousands of digits.
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > _MAX_EVENT_ID_DIGITS
        or int(value) > MAX_ROW_NUMBER
    ):
        shown = value if len(value) <= _MAX_EVENT_ID_DIGITS else f"{value[:_MAX_EVENT_ID_DIGITS]}…"
        raise BadRequestError(
            f"Last-Event-ID must be an event id (0 to {MAX_ROW_NUMBER}), got {shown!r}"
        )
    return int(value)


@router.get(
    "/stream",
    summary="Live work-order changes (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPE: {}}}, **REQUEST_ERRORS},
)
async def stream_route(
    _admin: AdminDep,
    resources: ResourcesDep,
    hub: HubDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """An endless ``text/event-stream``; replays after ``Last-Event-ID`` first."""
    after = _last_event_id(last_event_id)
    subscription = await hub.subscribe()
    return StreamingResponse(
        _events(hub, subscription, resources, after),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    hub: StreamHub, subscription: Subscription, resources: AppResources, after: int | None
) -> AsyncIterator[bytes]:
    settings = resources.settings
    try:
        replayed: set[int] = set()
        if after is not None:
            # Subscribed before reading: nothing committed meanwhile falls between the two.
            async with resources.sessions() as session:
                missed = await stream_events(
                    session, after_id=after, limit=settings.stream_replay_max
                )
            for event in missed:
                replayed.add(event.id)
                yield event.encode()
        yield HEARTBEAT  # open the stream at once, even with nothing to replay
        while True:
            try:
                live = await subscription.next(settings.stream_heartbeat_s)
            except TimeoutError:
                yield HEARTBEAT
                continue
            if live is None:
                return  # dropped for falling behind: the client reconnects with Last-Event-ID
            if live.id not in replayed:
                yield live.encode()
    finally:
        hub.unsubscribe(subscription)
