"""GeoReport v2's two formats: the same rows rendered as JSON or as XML.

Every answer is a list of flat records (``[{...}]`` in JSON, ``<root><item>…</item></root>`` in
XML), so one renderer serves every endpoint and the two formats cannot drift apart: ``None``
is JSON ``null`` and an empty XML element, numbers and booleans are their JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from fastapi import Response


class Format(StrEnum):
    """The response formats a path may end with."""

    JSON = "json"
    XML = "xml"


MEDIA_TYPES: Mapping[Format, str] = {
    Format.JSON: "application/json; charset=utf-8",
    Format.XML: "text/xml; charset=utf-8",
}

Record = Mapping[str, Any]


def record_of(value: object) -> dict[str, Any]:
    """A dataclass as a flat record with JSON-ready values (datetimes in ISO 8601)."""
    assert is_dataclass(value) and not isinstance(value, type)
    return {key: _plain(item) for key, item in asdict(value).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return str(value)


def _xml_element(parent: ElementTree.Element, name: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, list | tuple):
        # A nested list (a service definition's attributes) keeps its items' own tags.
        for item in value:
            child = ElementTree.SubElement(element, name.rstrip("s") or name)
            for key, inner in dict(item).items():
                _xml_element(child, key, inner)
        return
    element.text = _xml_text(value)


def render(
    fmt: Format, *, root: str, item: str, rows: Sequence[Record], status: int = 200
) -> Response:
    """``rows`` as a GeoReport answer: a JSON list, or ``<root>`` of ``<item>`` elements."""
    if fmt is Format.JSON:
        body = json.dumps([dict(row) for row in rows], ensure_ascii=False)
        return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt])
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for key, value in row.items():
            _xml_element(element, key, value)
    text = ElementTree.tostring(top, encoding="unicode")
    body = f'<?xml version="1.0" encoding="utf-8"?>\n{text}'
    return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt])


def render_one(fmt: Format, *, root: str, row: Record) -> Response:
    """A single object (a service definition): a JSON object, or one ``<root>`` element."""
    if fmt is Format.JSON:
        return Response(json.dumps(dict(row), ensure_ascii=False), media_type=MEDIA_TYPES[fmt])
    top = ElementTree.Element(root)
    for key, value in row.items():
        _xml_element(top, key, value)
    text = ElementTree.tostring(top, encoding="unicode")
    return Response(f'<?xml version="1.0" encoding="utf-8"?>\n{text}', media_type=MEDIA_TYPES[fmt])


def render_error(
    fmt: Format, *, code: int, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The spec's error answer: ``[{"code": …, "description": …}]`` / ``<errors><error>``."""
    response = render(
        fmt,
        root="errors",
        item="error",
        rows=[{"code": code, "description": description}],
        status=code,
    )
    response.headers.update(headers or {})
    return response


def format_of_path(path: str) -> Format:
    """The format a path asks for (JSON unless it ends in ``.xml``), for error answers."""
    return Format.XML if path.endswith(".xml") else Format.JSON
