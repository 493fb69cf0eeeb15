"""API exceptions and the handlers that turn every error into ``{"detail": "<message>"}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from alerts import errors as alerts_errors
from reports.errors import ReportError
from storage.tsdb.port import TimeSeriesError

log = logging.getLogger(__name__)

_PYDANTIC_VALUE_ERROR_PREFIX = "Value error, "


class ApiError(Exception):
    """An error with an HTTP status and a message a person can act on."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class NotFoundError(ApiError):
    """The addressed resource does not exist."""

    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, *, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(ApiError):
    """The stored state forbids the change."""

    status_code = status.HTTP_409_CONFLICT


class BadRequestError(ApiError):
    """The request is malformed (e.g. a header that is not what the protocol says)."""

    status_code = status.HTTP_400_BAD_REQUEST


class InvalidRequestError(ApiError):
    """Well-formed, but refers to something that does not exist or cannot be done."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


class AuthenticationError(ApiError):
    """No credentials, or credentials that do not match."""

    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, detail: str, *, challenge: str = "Bearer") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class PermissionDeniedError(ApiError):
    """Authenticated, but without the role the route needs."""

    status_code = status.HTTP_403_FORBIDDEN


class AuthNotConfiguredError(ApiError):
    """The server has no admin token, so protected routes stay closed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable sentence per invalid input, e.g. ``query parameter 'limit': ...``."""
    messages: list[str] = []
    for error in errors:
        location = tuple(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid value")).removeprefix(_PYDANTIC_VALUE_ERROR_PREFIX)
        if len(location) >= 2 and location[0] in {"query", "path", "header", "cookie"}:
            where = f"{location[0]} parameter '{location[1]}'"
            if location[2:]:
                # One value of a repeated parameter (``status=open&status=x``): loc ends with
                # its 0-based index; people count from 1.
                index = location[2]
                where += f" (value {int(index) + 1 if index.isdigit() else index})"
        elif location and location[0] == "body":
            where = "request body" + (f" field '{'.'.join(location[1:])}'" if location[1:] else "")
        else:
            where = "request"
        messages.append(f"{where}: {message}")
    return "; ".join(messages) or "the request is invalid"


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": describe_validation_errors(exc.errors())},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Logged with the traceback for the operator; the client gets what to check, not internals.
    log.error("relational store failed on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "detail": "the relational store is unavailable; check FM_DATABASE_URL and that "
            "the database server is running and migrated (see GET /readyz)"
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _timeseries_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("time-series store failed on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "detail": "the time-series store is unavailable; check FM_TSDB_URL and that the "
            "store is running (see GET /readyz)"
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


#: The HTTP answer to each family of alerts errors; every alerts error a request can cause
#: inherits one of them, so views never catch and translate domain errors themselves.
DOMAIN_ERROR_STATUS: Mapping[type[alerts_errors.AlertsError], int] = {
    alerts_errors.NotFoundError: status.HTTP_404_NOT_FOUND,
    alerts_errors.ConflictError: status.HTTP_409_CONFLICT,
    alerts_errors.InvalidError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def _domain_error(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def answer(_request: Request, exc: Exception) -> JSONResponse:
        # The session dependency has already rolled back: a refused request changed nothing.
        return JSONResponse({"detail": str(exc)}, status_code=status_code)

    return answer


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    for family, status_code in DOMAIN_ERROR_STATUS.items():
        app.add_exception_handler(family, _domain_error(status_code))
    # A report naming an unknown scope id or an empty window: the request's fault.
    app.add_exception_handler(ReportError, _domain_error(status.HTTP_422_UNPROCESSABLE_CONTENT))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(TimeSeriesError, _timeseries_error)
