"""``GET /metrics`` in the Prometheus text format: stores, HTTP, and the process's own parts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from alerts.metrics.stores import exposition, store_metrics
from api.deps import SessionDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process and the stores it reads",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, session: SessionDep) -> Response:
    """Work orders open by tier and severity, outbox backlog, HTTP requests, process parts."""
    collectors = getattr(request.app.state, "metrics_collectors", ())
    body = exposition(await store_metrics(session), collectors)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
