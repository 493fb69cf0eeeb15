"""CSV answers of the report routes: rows of dicts, their columns, a download name.

The same rules as every list's ``?format=csv`` (docs/http-api.md): a text cell a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
gets a leading ``'``; numbers stay numbers, times are RFC 3339 UTC, None is an empty cell.
Kept here until the shared ``api/csv.py`` lands on main; the interface is the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ResponseFormat(StrEnum):
    """What a report answers in."""

    JSON = "json"
    CSV = "csv"


#: ``?format=json|csv`` on every report route.
FormatQuery = Annotated[
    ResponseFormat, Query(description="json (the default) or csv, a download for spreadsheets")
]


def csv_cell(value: object) -> str | int | float:
    """One value as a CSV cell: empty for None, RFC 3339 UTC for times, text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value.value if isinstance(value, Enum) else value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_response(
    rows: Iterable[Mapping[str, object]], columns: Sequence[str], *, filename: str
) -> Response:
    """A ``text/csv`` download: a header of ``columns``, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return Response(
        content=buffer.getvalue(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )
