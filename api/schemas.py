"""Shared response building blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

#: Length of ids in the site file (devices, grids, teams, members).
MAX_ID_CHARS = 64

#: A site-file id in a request body.
IdField = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
#: An optional site-file id as a query filter.
IdQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS)]

#: Largest row id and version the relational schema holds (an SQL INTEGER on PostgreSQL): a
#: larger number names nothing, so it is refused as invalid instead of reaching the database.
MAX_ROW_NUMBER = 2**31 - 1
#: A row id in the path (work order, shift, silence, notification endpoint).
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_NUMBER)]
#: An optional row id as a query filter.
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_NUMBER)]


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


#: An aware datetime rendered as ISO 8601 in UTC with an explicit offset (``+00:00``).
UtcTimestamp = Annotated[datetime, PlainSerializer(_iso_utc, return_type=str)]


class ApiModel(BaseModel):
    """Base of every response body: immutable, buildable from ORM rows and dataclasses."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class LocationOut(ApiModel):
    """Coordinates (WGS84) and/or a free-text place."""

    lat: float | None
    lon: float | None
    text: str


class ErrorOut(ApiModel):
    """Every error body."""

    detail: str
