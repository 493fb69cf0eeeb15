"""Turning escalation errors into HTTP answers (shared by the escalation-area routers)."""

from __future__ import annotations

from alerts.errors import (
    AlertsError,
    AlreadyAcknowledgedError,
    DispatchNotFoundError,
    HandBackError,
    InvalidScheduleError,
    OrderNotFoundError,
    StaleOrderError,
)
from api.errors import ApiError, InvalidRequestError, NotFoundError


class ConflictError(ApiError):
    """The order's state or version forbids the change."""

    status_code = 409


def http_error(exc: AlertsError) -> ApiError:
    """The API error for an escalation error (404, 409 or 422)."""
    if isinstance(exc, OrderNotFoundError):
        return NotFoundError(kind="work order", key=exc.order_id)
    if isinstance(exc, DispatchNotFoundError):
        return NotFoundError(kind="department dispatch", key=exc.department_id)
    if isinstance(exc, StaleOrderError | HandBackError | AlreadyAcknowledgedError):
        return ConflictError(str(exc))
    if isinstance(exc, InvalidScheduleError):
        return InvalidRequestError(str(exc))
    return InvalidRequestError(str(exc))
