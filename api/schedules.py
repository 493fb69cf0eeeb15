"""Schedule entries (duty-roster shifts, silences): dated windows listed and deleted one way.

Both kinds are rows with ``id``, ``[starts_at, ends_at)``, ``created_by`` and ``created_at``;
each is created by its own alerts domain function (which checks it against the site file),
while listing, the ``running at`` filter, paging and deleting are shared here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from fastapi import Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFoundError
from api.listing import Listing, Page, equals, fetch_page, running_at
from api.schemas import ApiModel, UtcTimestamp
from storage.relational.sla_models import DutyRoster, Silence

EntryT = TypeVar("EntryT", DutyRoster, Silence)


class ScheduleIn(BaseModel):
    """The window of a new entry; aware timestamps only."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ScheduleOut(ApiModel):
    """The fields every stored entry has."""

    id: int
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    created_by: str
    created_at: UtcTimestamp


@dataclass(frozen=True, slots=True)
class ScheduleKind(Generic[EntryT]):
    """One kind of schedule entry: its table, its name in messages and its domain delete."""

    noun: str
    entity: type[EntryT]
    remove: Callable[[AsyncSession, int], Awaitable[bool]]

    async def list_page(
        self, session: AsyncSession, *, page: Page, at: datetime | None, **equal_to: str | None
    ) -> Listing[EntryT]:
        """Entries running at ``at`` (all when None) whose named columns equal the given values."""
        entity: type[EntryT] = self.entity
        where = [
            running_at(entity.starts_at, entity.ends_at, at),
            *(equals(getattr(entity, column), value) for column, value in equal_to.items()),
        ]
        # Earliest first; the id breaks ties so paging is stable.
        return await fetch_page(
            session, entity, where=where, order_by=(entity.starts_at, entity.id), page=page
        )

    async def delete(self, session: AsyncSession, entry_id: int) -> Response:
        """204 once removed; 404 when there is no entry with that id."""
        if not await self.remove(session, entry_id):
            raise NotFoundError(kind=self.noun, key=entry_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
