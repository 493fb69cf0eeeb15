"""The Open311 routes answer every error in the spec's format, in the format asked for.

:class:`Open311Route` wraps the whole route handler (dependencies included): the request's
unit of work has already rolled back when an error gets here, so a refused request changes
nothing, and the client gets ``[{"code": …, "description": …}]`` (or ``<errors>``) instead of
the API's usual ``{"detail": …}``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from alerts import errors as alerts_errors
from api.errors import describe_validation_errors
from api.open311.formats import format_of_path, render_error
from residents.errors import RateLimitedError, ResidentError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

#: The spec's code for each family of alerts errors a resident's request can cause.
_ALERTS_CODES: tuple[tuple[type[alerts_errors.AlertsError], int], ...] = (
    (alerts_errors.NotFoundError, status.HTTP_404_NOT_FOUND),
    (alerts_errors.ConflictError, status.HTTP_409_CONFLICT),
    (alerts_errors.InvalidError, status.HTTP_400_BAD_REQUEST),
)


def _error_of(exc: Exception) -> tuple[int, str, dict[str, str]] | None:
    """(code, description, headers) for an error the spec format should carry, else None."""
    if isinstance(exc, RateLimitedError):
        return exc.code, exc.description, {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, ResidentError):
        return exc.code, exc.description, {}
    if isinstance(exc, RequestValidationError):
        return status.HTTP_400_BAD_REQUEST, describe_validation_errors(exc.errors()), {}
    for family, code in _ALERTS_CODES:
        if isinstance(exc, family):
            return code, str(exc), {}
    return None


class Open311Route(APIRoute):
    """An ``APIRoute`` whose errors are GeoReport v2 error lists."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                found = _error_of(exc)
                if found is None:
                    raise  # the app's handlers (database down …) answer the rest
                code, description, headers = found
                fmt = format_of_path(request.url.path)
                return render_error(fmt, code=code, description=description, headers=headers)

        return answer
