"""``GET /healthz`` (the process is up) and ``GET /readyz`` (its dependencies answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ResourcesDep
from api.health.checks import run_checks

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: 200 while the process serves requests")
async def healthz() -> dict[str, str]:
    """Always 200; needs no store and no token."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: 200 only when every store and probe answers",
    responses={503: {"description": "a check failed; the body says which"}},
)
async def readyz(resources: ResourcesDep) -> JSONResponse:
    """200 with every check's state, or 503 naming the failed checks."""
    results = await run_checks(resources)
    checks = {result.name: result.state.value for result in results}
    failed = [result for result in results if not result.passed]
    if not failed:
        return JSONResponse({"status": "ready", "checks": checks})
    reasons = ", ".join(f"{result.name} ({result.state.value})" for result in failed)
    return JSONResponse(
        {"status": "not ready", "detail": f"not ready: {reasons}", "checks": checks},
        status_code=503,
    )
