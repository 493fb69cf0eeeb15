"""Tracking tokens and public ids: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

#: Bytes of randomness in a tracking token (a feedback secret) and a public request id.
TOKEN_BYTES = 24
REQUEST_ID_BYTES = 6


def new_token() -> str:
    """A fresh tracking token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_request_id() -> str:
    """A fresh public ``service_request_id``: random, so it reveals no count."""
    return f"fm-{secrets.token_hex(REQUEST_ID_BYTES)}"


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token or a client address is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
