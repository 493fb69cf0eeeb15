"""Notification endpoint and outbox bodies; secrets are write-only, robot keys masked."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import ApiModel, IdField, UtcTimestamp
from storage.relational.outbox_models import (
    EndpointKind,
    Language,
    NotificationEndpoint,
    ScopeKind,
)

MASK = "***"
#: Longest endpoint URL accepted (what browsers and proxies reliably carry).
MAX_URL_CHARS = 2048
#: Bounds of a signing secret: long enough to resist guessing, short enough for a header.
MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 256


class EndpointIn(BaseModel):
    """A new endpoint."""

    model_config = ConfigDict(extra="forbid")

    kind: EndpointKind
    url: str = Field(max_length=MAX_URL_CHARS)
    secret: str | None = Field(
        default=None, min_length=MIN_SECRET_CHARS, max_length=MAX_SECRET_CHARS
    )
    scope_kind: ScopeKind
    scope_id: IdField
    enabled: bool = True
    # The language of its messages; unset: the site file's ``street.language``.
    language: Language | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


def masked(url: str) -> str:
    """``url`` with every query value replaced by the mask (robot keys live there)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [(name, MASK) for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    # ``*`` is legal in a query, so the mask stays readable (``key=***``, not ``%2A%2A%2A``).
    query = urlencode(pairs, safe=MASK)
    return urlunsplit(parts._replace(query=query, fragment=""))


class EndpointOut(ApiModel):
    """An endpoint as the API shows it: no secret, robot keys masked."""

    id: int
    kind: str
    url: str
    has_secret: bool
    scope_kind: str
    scope_id: str
    enabled: bool
    language: str | None  # None: it speaks the site file's default language
    created_at: UtcTimestamp

    @classmethod
    def of(cls, endpoint: NotificationEndpoint) -> EndpointOut:
        """The public view of a row."""
        return cls(
            id=endpoint.id,
            kind=endpoint.kind,
            url=masked(endpoint.url),
            has_secret=bool(endpoint.secret),
            scope_kind=endpoint.scope_kind,
            scope_id=endpoint.scope_id,
            enabled=endpoint.enabled,
            language=endpoint.language,
            created_at=endpoint.created_at,
        )


class OutboxOut(ApiModel):
    """One notification and how its delivery went."""

    id: int
    idempotency_key: str
    channel: str
    endpoint_id: int | None
    team_id: str | None
    order_id: int
    event: str
    state: str
    attempts: int
    created_at: UtcTimestamp
    next_attempt_at: UtcTimestamp
    delivered_at: UtcTimestamp | None
    dead_at: UtcTimestamp | None
    last_error: str | None
