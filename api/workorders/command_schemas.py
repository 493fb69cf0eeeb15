"""Request and response bodies of the work-order commands, comments and history."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MAX_ID_CHARS, MAX_ROW_NUMBER, ApiModel, IdField, UtcTimestamp

#: Longest note, reason or comment accepted (a paragraph, not a document).
MAX_TEXT_CHARS = 4000

_VERSION_HELP = (
    'optional: the order\'s version you last saw (or send the header If-Match: "<version>"); '
    "when sent, a newer stored version answers 409"
)
_BEHALF_HELP = "id of the team member you act for (the order's team leader or a member)"


class CommandIn(BaseModel):
    """Acknowledge, start, resolve, close or cancel an order."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, le=MAX_ROW_NUMBER, description=_VERSION_HELP)
    note: str = Field(
        default="",
        max_length=MAX_TEXT_CHARS,
        description="why; required to close (how it was fixed) and cancel (why a false alarm)",
    )
    on_behalf_of: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_CHARS, description=_BEHALF_HELP
    )


class ReassignIn(BaseModel):
    """Hand the order to another member of its team."""

    model_config = ConfigDict(extra="forbid")

    assignee: IdField
    reason: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    version: int | None = Field(default=None, ge=1, le=MAX_ROW_NUMBER, description=_VERSION_HELP)
    on_behalf_of: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_CHARS, description=_BEHALF_HELP
    )


class CommentIn(BaseModel):
    """A remark on an order; allowed in every state."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    on_behalf_of: str | None = Field(
        default=None, min_length=1, max_length=MAX_ID_CHARS, description=_BEHALF_HELP
    )


class CommentOut(ApiModel):
    """A stored comment."""

    id: int
    order_id: int
    author: str
    on_behalf_of: str | None
    body: str
    created_at: UtcTimestamp


class TransitionOut(ApiModel):
    """One entry of an order's history: who did what, when, why."""

    id: int
    action: str
    from_status: str
    to_status: str
    from_assignee: str | None
    to_assignee: str | None
    actor: str
    on_behalf_of: str | None
    note: str
    version: int
    at: UtcTimestamp
