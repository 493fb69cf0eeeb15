"""Paging of list endpoints: ``limit`` and ``offset`` query parameters with fixed bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

#: Rows returned when the client does not say; part of the HTTP contract (docs/http-api.md).
DEFAULT_PAGE_SIZE = 100
#: Largest page a client may ask for, so one request cannot pull a whole table.
MAX_PAGE_SIZE = 1000
#: Header carrying the number of rows matching the filters, before paging.
TOTAL_COUNT_HEADER = "X-Total-Count"


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a result to return."""

    limit: int
    offset: int


def get_page(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows to return (1 to 1000)")
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
) -> Page:
    """The requested page, validated against the bounds."""
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]
