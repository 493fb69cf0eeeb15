"""The residents' errors: each says what to change, and maps to one Open311 error code."""

from __future__ import annotations


class ResidentError(Exception):
    """Base of the errors a resident's request can cause."""

    #: The HTTP status / Open311 error code.
    code = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidReportError(ResidentError):
    """A required field is missing or a value is not acceptable (400)."""


class UnknownServiceError(ResidentError):
    """The service_code names no service (404 for a definition, 400 in a request)."""

    def __init__(self, service_code: str, *, known: tuple[str, ...]) -> None:
        super().__init__(f"service_code {service_code!r} is not a service; use one of {known}")
        self.service_code = service_code


class LocationNotFoundError(InvalidReportError):
    """The location given does not resolve to a building of the site."""


class ReportNotFoundError(ResidentError):
    """No report has that id or token (404)."""

    code = 404


class FeedbackRefusedError(ResidentError):
    """Feedback the report's state does not allow (409), e.g. rating an unresolved order."""

    code = 409


class RateLimitedError(ResidentError):
    """Too many reports from one client in the window (429)."""

    code = 429

    def __init__(self, description: str, *, retry_after_s: int) -> None:
        super().__init__(description)
        self.retry_after_s = retry_after_s


class GridNotFoundError(ResidentError):
    """No grid has that id (404)."""

    code = 404


class ServiceNotFoundError(ResidentError):
    """A service definition was asked for a code that is no service (404)."""

    code = 404
