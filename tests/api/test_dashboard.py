"""The web interface and its assets are served locally and reference nothing elsewhere."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from api.dashboard.views import STATIC_DIR

URL_ATTRIBUTES = {"src", "href", "action", "srcset", "poster", "data"}
SCRIPTS = STATIC_DIR / "js"
VENDOR = STATIC_DIR / "vendor"
# A module's static imports: `from "./x.js"` (relative, so they stay on this origin).
IMPORT = re.compile(r"""from\s+["']([^"']+)["']""")
# Files of our own scripts longer than this get split (the project's "each file small").
MAX_SCRIPT_LINES = 250


class ReferenceCollector(HTMLParser):
    """Every URL-valued attribute of the page, plus the label/input wiring."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.label_targets: set[str] = set()
        self.input_ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.references.extend(v for k, v in attrs if k in URL_ATTRIBUTES and v is not None)
        if tag == "label" and values.get("for"):
            self.label_targets.add(str(values["for"]))
        if tag == "input":
            self.input_ids.add(str(values.get("id")))


def parse(html: str) -> ReferenceCollector:
    collector = ReferenceCollector()
    collector.feed(html)
    return collector


def our_scripts() -> list[Path]:
    return sorted(SCRIPTS.rglob("*.js"))


async def test_page_is_served_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<title>facility monitor" in response.text


async def test_page_references_only_local_assets_that_exist(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    references = parse(page.text).references
    for reference in references:
        parts = urlsplit(reference)
        if reference.startswith("#"):
            continue  # the views' hash routes
        assert not parts.scheme and not parts.netloc, f"{reference} is not local"
        asset = await client.get(urljoin("/", reference), headers={"Authorization": ""})
        assert asset.status_code == 200, reference
    assert {urljoin("/", r) for r in references} >= {
        "/static/js/main.js",
        "/static/style.css",
        "/static/vendor/uPlot.iife.min.js",
        "/static/vendor/uPlot.min.css",
    }


async def test_every_module_import_resolves_and_is_served_as_javascript(
    client: httpx.AsyncClient,
) -> None:
    for script in our_scripts():
        for target in IMPORT.findall(script.read_text(encoding="utf-8")):
            assert target.startswith("."), f"{script.name} imports {target} from elsewhere"
            resolved = (script.parent / target).resolve()
            assert resolved.is_file(), f"{script.name}: {target} does not exist"
        url = "/static/" + script.relative_to(STATIC_DIR).as_posix()
        served = await client.get(url, headers={"Authorization": ""})
        assert served.status_code == 200, url
        # Browsers refuse module scripts with any other type.
        assert "javascript" in served.headers["content-type"], url
    style = await client.get("/static/vendor/uPlot.min.css")
    assert style.headers["content-type"].startswith("text/css")


def test_scripts_and_styles_fetch_nothing_from_elsewhere() -> None:
    for script in our_scripts():
        text = script.read_text(encoding="utf-8")
        # The SVG namespace is a name, not a fetch.
        text = text.replace('"http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), script
        assert len(text.splitlines()) <= MAX_SCRIPT_LINES, f"{script.name} is too long"
        assert ".innerHTML" not in text, f"{script.name} builds markup from strings"
    for sheet in (STATIC_DIR / "style.css", VENDOR / "uPlot.min.css"):
        style = sheet.read_text(encoding="utf-8")
        assert "@import" not in style
        for url in re.findall(r"url\(([^)]*)\)", style):
            assert not urlsplit(url.strip("'\" ")).netloc, url


def test_vendored_files_match_the_pinned_hashes() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    pinned = dict(re.findall(r"\| `([^`]+)` \|[^|]*\| [\d.]+ \| `([0-9a-f]{64})` \|", readme))
    assert set(pinned) == {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"}
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_every_string_has_both_languages() -> None:
    source = (SCRIPTS / "i18n.js").read_text(encoding="utf-8")
    zh_block = source.split("zh: {", 1)[1].split("\n  },", 1)[0]
    en_block = source.split("en: {", 1)[1].split("\n  },", 1)[0]
    keys = re.compile(r"(\w+): \"")
    assert set(keys.findall(zh_block)) == set(keys.findall(en_block))
    used = set()
    for script in our_scripts():
        used |= set(re.findall(r"\bt\(\"(\w+)\"", script.read_text(encoding="utf-8")))
    assert used <= set(keys.findall(en_block)), used - set(keys.findall(en_block))


def test_page_is_accessible_by_construction() -> None:
    page = parse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    assert page.input_ids <= page.label_targets


async def test_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/nope.js")
    assert response.status_code == 404
