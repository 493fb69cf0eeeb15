"""The error responses the OpenAPI document lists per route, defined once.

Every error body is ``{"detail": "<message>"}`` (:class:`api.schemas.ErrorOut`); these maps only
document which status codes a route can answer, the handlers in :mod:`api.errors` produce them.
"""

from __future__ import annotations

from typing import Any

from fastapi import status

from api.schemas import ErrorOut

OpenApiResponses = dict[int | str, dict[str, Any]]


def _documented(*status_codes: int) -> OpenApiResponses:
    return {code: {"model": ErrorOut} for code in status_codes}


_UNAUTHORIZED = status.HTTP_401_UNAUTHORIZED
_NOT_FOUND = status.HTTP_404_NOT_FOUND
_CONFLICT = status.HTTP_409_CONFLICT
_INVALID = status.HTTP_422_UNPROCESSABLE_CONTENT
_UNAVAILABLE = status.HTTP_503_SERVICE_UNAVAILABLE

#: A route without a path id: lists, creations, bulk updates.
REQUEST_ERRORS = _documented(_UNAUTHORIZED, _INVALID, _UNAVAILABLE)
#: Reading one addressed thing (or its parts).
LOOKUP_ERRORS = _documented(_UNAUTHORIZED, _NOT_FOUND, _UNAVAILABLE)
#: Changing or removing one addressed thing whose state cannot conflict.
ITEM_ERRORS = _documented(_UNAUTHORIZED, _NOT_FOUND, _INVALID, _UNAVAILABLE)
#: A command on a versioned thing: its state or version may refuse it.
COMMAND_ERRORS = _documented(_UNAUTHORIZED, _NOT_FOUND, _CONFLICT, _INVALID, _UNAVAILABLE)
#: Routes that need only the token and the site file.
AUTH_ERRORS = _documented(_UNAUTHORIZED, _UNAVAILABLE)
