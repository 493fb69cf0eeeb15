"""GeoReport v2 endpoints under ``/open311/v2/`` (each as ``.json`` and ``.xml``).

Public: no bearer token. ``api_key`` is asked only of POST requests, and only when
``FM_OPEN311_API_KEYS`` is set. No endpoint returns a reporter's contact fields.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import NowDep, SessionDep, SiteDep
from api.open311.deps import FormatDep, ResidentSettingsDep, check_api_key
from api.open311.formats import Format, record_of, render, render_one
from api.open311.forms import feedback_of, new_report, read_form, request_filter
from api.open311.route import Open311Route
from residents.catalogue import SERVICES, Service
from residents.errors import ReportNotFoundError, ServiceNotFoundError
from residents.feedback import give_feedback
from residents.public import find_requests, get_request, report_by_token, service_notice
from residents.reporting import submit

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)

#: The client a rate limit counts when the server sees no peer address (tests, sockets).
UNKNOWN_CLIENT = "unknown"


def _service_row(service: Service) -> dict[str, object]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": False,  # no extra attributes: the definition lists none
        "type": "realtime",  # the request id is known at once
        "keywords": ",".join(service.keywords),
        "group": service.group,
    }


@router.get("/services.{fmt}")
async def list_services(fmt: FormatDep) -> Response:
    """Every problem residents can report."""
    rows = [_service_row(service) for service in SERVICES.values()]
    return render(fmt, root="services", item="service", rows=rows)


@router.get("/services/{service_code}.{fmt}")
async def service_definition(service_code: str, fmt: FormatDep) -> Response:
    """A service's definition: no extra attributes are asked for any service."""
    if service_code not in SERVICES:
        raise ServiceNotFoundError(f"service_code {service_code!r} not found")
    row = {"service_code": service_code, "attributes": []}
    return render_one(fmt, root="service_definition", row=row)


@router.post("/requests.{fmt}")
async def create_request(
    request: Request,
    fmt: FormatDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    settings: ResidentSettingsDep,
) -> Response:
    """Report a problem: it joins the open order of that problem, or opens one."""
    form = await read_form(request)
    check_api_key(settings, form.get("api_key"))
    client = request.client.host if request.client is not None else UNKNOWN_CLIENT
    submitted = await submit(
        session, site=site, settings=settings, report=new_report(form), client=client, now=now
    )
    report = submitted.report
    row = {
        "service_request_id": report.service_request_id,
        # The tracking token (shown only here): GET tokens/{token}, and feedback after the fix.
        "token": submitted.token,
        "service_notice": service_notice(site, submitted.order, joined=report.joined),
        "account_id": None,
    }
    return render(fmt, root="service_requests", item="request", rows=[row], status=201)


@router.get("/requests.{fmt}")
async def list_requests(
    request: Request,
    fmt: FormatDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    settings: ResidentSettingsDep,
) -> Response:
    """Requests by id, or by service, date window (default the last 90 days) and status."""
    found = await find_requests(
        session,
        site=site,
        wanted=request_filter(request.query_params),
        now=now,
        default_days=settings.list_default_days,
        max_results=settings.list_max_results,
    )
    rows = [record_of(item) for item in found]
    return render(fmt, root="service_requests", item="request", rows=rows)


@router.get("/requests/{service_request_id}.{fmt}")
async def one_request(
    service_request_id: str, fmt: FormatDep, session: SessionDep, site: SiteDep
) -> Response:
    """One request (a list of one, as the spec says)."""
    found = await get_request(session, site=site, request_id=service_request_id)
    return render(fmt, root="service_requests", item="request", rows=[record_of(found)])


@router.get("/tokens/{token}.{fmt}")
async def token_request(token: str, fmt: FormatDep, session: SessionDep) -> Response:
    """The request id a tracking token belongs to."""
    report = await report_by_token(session, token)
    row = {"service_request_id": report.service_request_id, "token": token}
    return render(fmt, root="service_requests", item="request", rows=[row])


@router.post("/requests/{service_request_id}/feedback.{fmt}")
async def post_feedback(
    service_request_id: str,
    request: Request,
    fmt: FormatDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    settings: ResidentSettingsDep,
) -> Response:
    """Extension: confirm or reject the fix and rate it, with the tracking token."""
    form = await read_form(request)
    token = form.get("token", "")
    report = await report_by_token(session, token) if token else None
    if report is None or report.service_request_id != service_request_id:
        raise ReportNotFoundError("no report has this id and token")
    await give_feedback(
        session,
        site=site,
        token=token,
        feedback=feedback_of(form),
        max_comment_chars=settings.max_comment_chars,
        now=now,
    )
    found = await get_request(session, site=site, request_id=service_request_id)
    return render(fmt, root="service_requests", item="request", rows=[record_of(found)])


@router.post("/requests/{service_request_id}/feedback")
async def post_feedback_json(
    service_request_id: str,
    request: Request,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
    settings: ResidentSettingsDep,
) -> Response:
    """The feedback extension without a suffix answers JSON."""
    return await post_feedback(
        service_request_id, request, Format.JSON, session, site, now, settings
    )
