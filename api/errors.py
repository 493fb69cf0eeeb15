"""API exceptions and the handlers that turn every error into ``{"detail": "<message>"}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_PYDANTIC_VALUE_ERROR_PREFIX = "Value error, "


class ApiError(Exception):
    """An error with an HTTP status and a message a person can act on."""

    status_code = 500

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class NotFoundError(ApiError):
    """The addressed resource does not exist."""

    status_code = 404

    def __init__(self, *, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class InvalidRequestError(ApiError):
    """Well-formed, but refers to something that does not exist or cannot be done."""

    status_code = 422


class AuthenticationError(ApiError):
    """No credentials, or credentials that do not match."""

    status_code = 401

    def __init__(self, detail: str, *, challenge: str = "Bearer") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class PermissionDeniedError(ApiError):
    """Authenticated, but without the role the route needs."""

    status_code = 403


class AuthNotConfiguredError(ApiError):
    """The server has no admin token, so protected routes stay closed."""

    status_code = 503


class StartupError(RuntimeError):
    """The app could not build a resource it was not given."""


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
    return JSONResponse({"detail": describe_validation_errors(exc.errors())}, status_code=422)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Logged with the traceback for the operator; the client gets what to check, not internals.
    log.error("relational store failed on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "detail": "the relational store is unavailable; check FM_DATABASE_URL and that "
            "the database server is running and migrated (see GET /readyz)"
        },
        status_code=503,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
