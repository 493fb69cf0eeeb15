"""Open311 GeoReport v2: every endpoint, the spec's error cases, and JSON/XML parity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import httpx
from fastapi import FastAPI

from residents.catalogue import SERVICES
from tests.api.conftest import serve
from tests.residents.conftest import FORM

V2 = "/open311/v2"


def xml_rows(text: str, item: str) -> list[dict[str, Any]]:
    """The records of an XML answer, as flat dicts of element text ('' for empty)."""
    root = ElementTree.fromstring(text)
    return [{child.tag: child.text or "" for child in element} for element in root.iter(item)]


def as_xml_text(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """JSON records rendered the way the XML carries them (null '', numbers as JSON)."""
    out = []
    for row in rows:
        text = {}
        for key, value in row.items():
            if value is None:
                text[key] = ""
            elif isinstance(value, bool | int | float):
                text[key] = "true" if value is True else "false" if value is False else str(value)
            else:
                text[key] = str(value)
        out.append(text)
    return out


async def post(client: httpx.AsyncClient, fmt: str = "json", **fields: str) -> httpx.Response:
    return await client.post(f"{V2}/requests.{fmt}", data=fields, headers=FORM)


async def report(client: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    values = {"service_code": "water_leak", "address_id": "b-sun-1", **fields}
    response = await post(client, **values)
    assert response.status_code == 201, response.text
    [row] = response.json()
    return dict(row)


async def test_services_list_every_category_in_both_formats(public: httpx.AsyncClient) -> None:
    as_json = await public.get(f"{V2}/services.json")
    as_xml = await public.get(f"{V2}/services.xml")
    assert as_json.status_code == as_xml.status_code == 200
    assert as_xml.headers["content-type"].startswith("text/xml")
    assert as_xml.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    codes = [row["service_code"] for row in as_json.json()]
    assert codes == list(SERVICES)
    assert set(codes) >= {"corridor_light_out", "water_leak", "blocked_drain", "other"}
    assert xml_rows(as_xml.text, "service") == as_xml_text(as_json.json())


async def test_service_definition_and_unknown_service(public: httpx.AsyncClient) -> None:
    found = await public.get(f"{V2}/services/water_leak.json")
    assert found.json() == {"service_code": "water_leak", "attributes": []}
    as_xml = ElementTree.fromstring((await public.get(f"{V2}/services/water_leak.xml")).text)
    assert as_xml.tag == "service_definition"
    assert as_xml.findtext("service_code") == "water_leak"
    missing = await public.get(f"{V2}/services/potholes.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404
    missing_xml = await public.get(f"{V2}/services/potholes.xml")
    error = ElementTree.fromstring(missing_xml.text).find("error")
    assert error is not None and error.findtext("code") == "404"


async def test_spec_error_cases_change_nothing(public: httpx.AsyncClient) -> None:
    no_code = await post(public, address_id="b-sun-1")
    unknown = await post(public, service_code="potholes", address_id="b-sun-1")
    no_place = await post(public, service_code="water_leak", description="wet floor")
    far_away = await post(public, service_code="water_leak", lat="31.23", long="121.47")
    bad_building = await post(public, service_code="water_leak", address_id="nowhere")
    for response in (no_code, unknown, no_place, far_away, bad_building):
        assert response.status_code == 400, response.text
        [error] = response.json()
        assert error["code"] == 400 and error["description"]
    assert "service_code" in no_code.json()[0]["description"]
    assert "location" in no_place.json()[0]["description"]
    as_xml = await post(public, "xml", address_id="b-sun-1")
    root = ElementTree.fromstring(as_xml.text)
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    listed = await public.get(f"{V2}/requests.json")
    assert listed.json() == []


async def test_post_then_get_by_id_token_and_list_with_parity(public: httpx.AsyncClient) -> None:
    created = await report(
        public, description="Water on the stairs", media_url="https://x.cn/a.jpg"
    )
    request_id, token = created["service_request_id"], created["token"]
    assert created["service_notice"]
    one_json = (await public.get(f"{V2}/requests/{request_id}.json")).json()
    one_xml = (await public.get(f"{V2}/requests/{request_id}.xml")).text
    assert one_json[0]["status"] == "open"
    assert one_json[0]["service_code"] == "water_leak"
    assert one_json[0]["address_id"] == "b-sun-1"
    assert one_json[0]["media_url"] == "https://x.cn/a.jpg"
    assert xml_rows(one_xml, "request") == as_xml_text(one_json)
    by_token = (await public.get(f"{V2}/tokens/{token}.json")).json()
    assert by_token == [{"service_request_id": request_id, "token": token}]
    assert (await public.get(f"{V2}/tokens/not-a-token.json")).status_code == 404
    assert (await public.get(f"{V2}/requests/fm-000000000000.json")).status_code == 404
    listed = await public.get(f"{V2}/requests.json")
    listed_xml = await public.get(f"{V2}/requests.xml")
    assert [row["service_request_id"] for row in listed.json()] == [request_id]
    assert xml_rows(listed_xml.text, "request") == as_xml_text(listed.json())


async def test_location_by_address_string_and_by_coordinates(public: httpx.AsyncClient) -> None:
    by_name = await report(public, address_id="", address_string="building of sunshine grid 2")
    near = await report(public, address_id="", lat="36.2201", long="116.7702")
    [first] = (await public.get(f"{V2}/requests/{by_name['service_request_id']}.json")).json()
    [second] = (await public.get(f"{V2}/requests/{near['service_request_id']}.json")).json()
    assert first["address_id"] == "b-sun-2"
    assert second["address_id"] == "b-steel-1"


async def test_list_filters(public: httpx.AsyncClient) -> None:
    leak = await report(public)
    drain = await report(public, service_code="blocked_drain", address_id="b-sun-2")
    other = await report(public, service_code="other", address_id="b-steel-1")

    async def ids(query: str) -> list[str]:
        response = await public.get(f"{V2}/requests.json?{query}")
        assert response.status_code == 200, response.text
        return sorted(row["service_request_id"] for row in response.json())

    assert await ids("service_code=blocked_drain") == [drain["service_request_id"]]
    wanted = f"{leak['service_request_id']},{other['service_request_id']}"
    assert await ids(f"service_request_id={wanted}") == sorted(wanted.split(","))
    assert len(await ids("status=open")) == 3
    assert await ids("status=closed") == []
    assert await ids("end_date=2000-01-01T00:00:00Z") == []
    assert len(await ids("start_date=2000-01-01T00:00:00Z")) == 3
    for bad in ("status=done", "start_date=yesterday", "start_date=2024-01-01T00:00:00"):
        response = await public.get(f"{V2}/requests.json?{bad}")
        assert response.status_code == 400 and response.json()[0]["code"] == 400


async def test_api_key_is_required_only_when_configured(
    make_resident_app: Callable[..., FastAPI],
) -> None:
    async with serve(make_resident_app(api_keys="k1,k2"), token=None) as client:
        refused = await post(client, service_code="water_leak", address_id="b-sun-1")
        wrong = await post(client, service_code="water_leak", address_id="b-sun-1", api_key="x")
        accepted = await post(client, service_code="water_leak", address_id="b-sun-1", api_key="k2")
        listed = await client.get(f"{V2}/requests.json")  # reading needs no key
    assert refused.status_code == wrong.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key is missing or not valid"}]
    assert accepted.status_code == 201
    assert len(listed.json()) == 1


async def test_rate_limit_per_client(make_resident_app: Callable[..., FastAPI]) -> None:
    async with serve(make_resident_app(post_limit=2), token=None) as client:
        answers = [
            (await post(client, service_code="other", address_id="b-sun-1")).status_code
            for _ in range(3)
        ]
        refused = await post(client, service_code="other", address_id="b-sun-1")
        listed = await client.get(f"{V2}/requests.json")
    assert answers == [201, 201, 429]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()[0]["code"] == 429
    assert len(listed.json()) == 2


async def test_size_and_scheme_limits(make_resident_app: Callable[..., FastAPI]) -> None:
    async with serve(make_resident_app(max_description_chars=20), token=None) as client:
        base = {"service_code": "other", "address_id": "b-sun-1"}
        too_long = await post(client, **base, description="x" * 21)
        ftp = await post(client, **base, media_url="ftp://example.org/a.jpg")
        script = await post(client, **base, media_url="javascript:alert(1)")
        not_form = await client.post(f"{V2}/requests.json", json=base)
        listed = await client.get(f"{V2}/requests.json")
    for response in (too_long, ftp, script, not_form):
        assert response.status_code == 400, response.text
    assert listed.json() == []


async def test_unknown_format_is_not_served(public: httpx.AsyncClient) -> None:
    response = await public.get(f"{V2}/services.csv")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
