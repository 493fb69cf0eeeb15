"""CSV answers for any list or report: rows of dicts, the columns to write, a download name.

Every list and report answers ``?format=csv`` (docs/http-api.md). A text cell that a
spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) gets a leading ``'``, as OWASP's CSV-injection advice says; numbers are
written as numbers, so a negative reading stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ResponseFormat(StrEnum):
    """What a list or report answers in."""

    JSON = "json"
    CSV = "csv"


#: ``?format=json|csv`` on every list and report route.
FormatQuery = Annotated[
    ResponseFormat, Query(description="json (the default) or csv, a download for spreadsheets")
]

#: OpenAPI note for routes that also answer CSV.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
}


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
    text = value.value if isinstance(value, Enum) else value
    text = str(text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_text(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> str:
    """A header line of ``columns`` and one line per row (missing keys are empty cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def csv_response(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    *,
    filename: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``text/csv`` download named ``filename`` (``.csv`` added when missing)."""
    name = filename if filename.endswith(".csv") else f"{filename}.csv"
    return Response(
        content=csv_text(rows, columns),
        media_type=CSV_MEDIA_TYPE,
        headers={**(headers or {}), "Content-Disposition": f'attachment; filename="{name}"'},
    )
