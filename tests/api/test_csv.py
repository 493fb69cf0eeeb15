"""The shared CSV answer: formula cells made inert, numbers and times as they are."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from api.csv import csv_cell, csv_response, csv_text
from api.devices.schemas import DeviceStatus


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (-1.5, -1.5),
        (7, 7),
        (DeviceStatus.OFFLINE, "offline"),
        (datetime(2025, 1, 1, 9, tzinfo=timezone(timedelta(hours=8))), "2025-01-01T01:00:00+00:00"),
    ],
)
def test_cells(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_text_has_a_header_and_quotes_what_needs_quoting() -> None:
    text = csv_text([{"id": "a", "note": 'comma, "quote"\nline'}, {"id": "=b"}], ["id", "note"])
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "note"],
        ["a", 'comma, "quote"\nline'],
        ["'=b", ""],
    ]


def test_response_is_a_named_download() -> None:
    response = csv_response([{"x": 1}], ["x"], filename="report", headers={"X-Total-Count": "1"})
    assert response.media_type == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="report.csv"'
    assert response.headers["x-total-count"] == "1"
    assert bytes(response.body) == b"x\r\n1\r\n"
