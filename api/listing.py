"""The one way list routes page: filters, a stable sort, ``limit``/``offset`` and the total count.

Every list route backed by the relational store builds its filters with :func:`equals`,
:func:`one_of` and :func:`running_at`, reads one page with :func:`fetch_page` and answers it
with :meth:`Listing.answer`, which sets ``X-Total-Count``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Response
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.schemas import MAX_ROW_NUMBER

#: Rows returned when the client does not say; part of the HTTP contract (docs/http-api.md).
DEFAULT_PAGE_SIZE = 100
#: Largest page a client may ask for, so one request cannot pull a whole table.
MAX_PAGE_SIZE = 1000
#: Header carrying the number of rows matching the filters, before paging.
TOTAL_COUNT_HEADER = "X-Total-Count"

RowT = TypeVar("RowT")
OutT = TypeVar("OutT")
ValueT = TypeVar("ValueT")

#: A filter condition, or None when the client did not ask for that filter.
Condition = ColumnElement[bool] | None


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a result to return."""

    limit: int
    offset: int


def get_page(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows to return (1 to 1000)")
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_NUMBER, description="rows to skip")] = 0,
) -> Page:
    """The requested page, validated against the bounds."""
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]


@dataclass(frozen=True, slots=True)
class Listing(Generic[RowT]):
    """One page of rows and how many match the filters in total."""

    rows: Sequence[RowT]
    total: int

    def answer(self, response: Response, out: Callable[[RowT], OutT]) -> list[OutT]:
        """The page as response bodies; the total goes into ``X-Total-Count``."""
        response.headers[TOTAL_COUNT_HEADER] = str(self.total)
        return [out(row) for row in self.rows]


def equals(column: InstrumentedAttribute[ValueT], value: ValueT | None) -> Condition:
    """``column = value``, or no filter when ``value`` is None."""
    return None if value is None else column == value


def one_of(column: InstrumentedAttribute[ValueT], values: Collection[ValueT]) -> Condition:
    """``column IN values``, or no filter when ``values`` is empty."""
    return column.in_(values) if values else None


def running_at(
    starts_at: InstrumentedAttribute[datetime],
    ends_at: InstrumentedAttribute[datetime],
    at: datetime | None,
) -> Condition:
    """Rows whose window [starts_at, ends_at) contains ``at``, or no filter when it is None."""
    return None if at is None else and_(starts_at <= at, ends_at > at)


async def fetch_page(
    session: AsyncSession,
    entity: type[RowT],
    *,
    where: Iterable[Condition],
    order_by: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    page: Page,
) -> Listing[RowT]:
    """The rows of ``entity`` matching every condition, in ``order_by`` order, one page of them.

    ``order_by`` must end with a unique column so that paging is stable.
    """
    conditions = [condition for condition in where if condition is not None]
    query = select(entity).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(*order_by).limit(page.limit).offset(page.offset))
    return Listing(rows=rows.all(), total=total or 0)
