"""Work orders as CSV, safe to open in a spreadsheet.

A minimal writer kept here until the shared ``api/csv.py`` (issue 9, helper DEV) is merged; the
rule is the agreed one: a cell starting with ``= + - @``, TAB or CR gets a leading ``'`` so a
spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from fastapi.responses import Response

from api.listing import TOTAL_COUNT_HEADER
from api.workorders.schemas import WorkOrderOut

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """One cell as text; None is empty, times are RFC 3339, formula starts are defused."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_response(
    orders: Iterable[WorkOrderOut], *, total: int, filename: str, header: Sequence[str]
) -> Response:
    """A CSV attachment with one row per order and ``X-Total-Count`` as for JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for order in orders:
        row = order.model_dump(mode="json")
        writer.writerow([safe_cell(row[column]) for column in header])
    return Response(
        content=buffer.getvalue(),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            TOTAL_COUNT_HEADER: str(total),
        },
    )
