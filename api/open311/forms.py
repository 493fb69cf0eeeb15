"""Reading Open311's form-encoded POST bodies and query filters into residents' types."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl

from fastapi import Request

from residents.errors import InvalidReportError
from residents.feedback import Feedback
from residents.locating import Place
from residents.public import RequestFilter
from residents.reporting import ContactDetails, NewReport

FORM_TYPE = "application/x-www-form-urlencoded"
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


async def read_form(request: Request) -> dict[str, str]:
    """The form fields of a POST (the last value of a repeated field); empty values dropped."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidReportError(f"send the fields form-encoded ({FORM_TYPE})")
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=False, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidReportError("the form must be UTF-8") from None
    return {key: value.strip() for key, value in pairs if value.strip()}


def _float(form: Mapping[str, str], name: str) -> float | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidReportError(f"{name} must be a number in decimal degrees") from None
    if not math.isfinite(value):
        raise InvalidReportError(f"{name} must be a finite number")
    return value


def new_report(form: Mapping[str, str]) -> NewReport:
    """The report a POST requests form describes."""
    lat, lon = _float(form, "lat"), _float(form, "long")
    if (lat is None) != (lon is None):
        raise InvalidReportError("give both lat and long, or neither")
    return NewReport(
        service_code=form.get("service_code"),
        place=Place(
            address_id=form.get("address_id"),
            address_string=form.get("address_string"),
            lat=lat,
            lon=lon,
        ),
        description=form.get("description", ""),
        media_url=form.get("media_url"),
        contact=ContactDetails(
            email=form.get("email"),
            phone=form.get("phone"),
            first_name=form.get("first_name"),
            last_name=form.get("last_name"),
            device_id=form.get("device_id"),
            account_id=form.get("account_id"),
        ),
    )


def feedback_of(form: Mapping[str, str]) -> Feedback:
    """The feedback a POST feedback form describes (``accepted``, ``rating``, ``comment``)."""
    accepted: bool | None = None
    raw = form.get("accepted")
    if raw is not None:
        if raw.lower() in _TRUE:
            accepted = True
        elif raw.lower() in _FALSE:
            accepted = False
        else:
            raise InvalidReportError("accepted must be true or false")
    rating: int | None = None
    if "rating" in form:
        try:
            rating = int(form["rating"])
        except ValueError:
            raise InvalidReportError("rating must be a whole number from 1 to 5") from None
    return Feedback(accepted=accepted, rating=rating, comment=form.get("comment"))


def _date(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReportError(f"{name} must be an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise InvalidReportError(f"{name} must include a time zone (Z or +08:00)")
    return value


def request_filter(query: Mapping[str, str]) -> RequestFilter:
    """GET requests' filters, as the spec names them."""
    ids = tuple(part.strip() for part in query.get("service_request_id", "").split(",") if part)
    return RequestFilter(
        ids=tuple(i for i in ids if i),
        service_code=query.get("service_code") or None,
        start=_date(query, "start_date"),
        end=_date(query, "end_date"),
        status=query.get("status") or None,
    )
