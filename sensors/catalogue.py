"""The fault vocabulary both sides share: severities and the ``offline`` code.

Dependency-free on purpose: ``core`` (device events) and every service package import it, so it
imports nothing, not even the rest of ``sensors``.
"""

from __future__ import annotations

from enum import StrEnum

#: The fault code of a device that is gone (last will, or silent too long); every type has it.
OFFLINE = "offline"


class Severity(StrEnum):
    """How bad a fault is; orders and SLAs key on it."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Larger is worse."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}
