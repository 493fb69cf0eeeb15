"""Why a report cannot be made: the small exception family the API answers with 422."""

from __future__ import annotations


class ReportError(Exception):
    """A report request that names something wrong; the message says what to change."""


class UnknownTargetError(ReportError):
    """The scope's id names nothing in the site (or is missing where the scope needs one)."""


class InvalidWindowError(ReportError):
    """The window is empty or reversed."""
