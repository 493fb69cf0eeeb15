"""Bearer-token authentication; yields a ``Principal`` so roles can be scoped later."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr

from api.errors import AuthenticationError, AuthNotConfiguredError, PermissionDeniedError

ADMIN_SUBJECT = "admin"


class Role(StrEnum):
    """What a principal may do; only the administrator exists so far."""

    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and with which roles."""

    subject: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        """True when the principal holds ``role``."""
        return role in self.roles


def authenticate(
    credentials: HTTPAuthorizationCredentials | None, *, admin_token: SecretStr | None
) -> Principal:
    """The principal behind the bearer credentials; raises when there is none."""
    if admin_token is None:
        raise AuthNotConfiguredError(
            "the API has no admin token configured; set FM_ADMIN_TOKEN (e.g. "
            "`openssl rand -hex 32`) and restart the service"
        )
    if credentials is None or not credentials.credentials:
        raise AuthenticationError(
            "missing credentials; send the header 'Authorization: Bearer <token>'"
        )
    presented = credentials.credentials.encode("utf-8")
    expected = admin_token.get_secret_value().encode("utf-8")
    # Constant-time comparison so response timing does not leak how much of the token matched.
    if not hmac.compare_digest(presented, expected):
        raise AuthenticationError(
            "invalid bearer token; use the value of FM_ADMIN_TOKEN",
            challenge='Bearer error="invalid_token"',
        )
    return Principal(subject=ADMIN_SUBJECT, roles=frozenset({Role.ADMIN}))


def require_role(principal: Principal, role: Role) -> Principal:
    """``principal`` if it holds ``role``; the seam for scoped roles later."""
    if not principal.has(role):
        raise PermissionDeniedError(f"this route needs the {role} role")
    return principal
