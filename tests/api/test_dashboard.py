"""The dashboard page and its assets are served locally and reference nothing elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from api.dashboard.views import STATIC_DIR

URL_ATTRIBUTES = {"src", "href", "action", "srcset", "poster", "data"}


class ReferenceCollector(HTMLParser):
    """Every URL-valued attribute of the page, plus the label/input and th wiring."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.label_targets: set[str] = set()
        self.input_ids: set[str] = set()
        self.header_cells: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.references.extend(v for k, v in attrs if k in URL_ATTRIBUTES and v is not None)
        if tag == "label" and values.get("for"):
            self.label_targets.add(str(values["for"]))
        if tag == "input":
            self.input_ids.add(str(values.get("id")))
        if tag == "th":
            self.header_cells.append(values)


def parse(html: str) -> ReferenceCollector:
    collector = ReferenceCollector()
    collector.feed(html)
    return collector


async def test_page_is_served_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<title>facility monitor" in response.text


async def test_page_references_only_local_assets_that_exist(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    references = parse(page.text).references
    assert references, "the page should load its script and style sheet"
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc, f"{reference} is not local"
        asset = await client.get(urljoin("/", reference), headers={"Authorization": ""})
        assert asset.status_code == 200, reference
    assert {urljoin("/", r) for r in references} >= {"/static/app.js", "/static/style.css"}


async def test_assets_have_the_right_types(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/app.js")
    style = await client.get("/static/style.css")
    assert "javascript" in script.headers["content-type"]
    assert style.headers["content-type"].startswith("text/css")
    assert "REFRESH_INTERVAL_MS" in script.text


def test_script_and_style_fetch_nothing_from_elsewhere() -> None:
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    style = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", script, re.IGNORECASE)
    assert "@import" not in style
    for url in re.findall(r"url\(([^)]*)\)", style):
        assert not urlsplit(url.strip("'\" ")).netloc, url


def test_page_is_accessible_by_construction() -> None:
    page = parse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    # Every input has a label, every column header says it is one.
    assert page.input_ids <= page.label_targets
    assert page.header_cells
    assert all(cell.get("scope") == "col" for cell in page.header_cells)


async def test_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/nope.js")
    assert response.status_code == 404
