"""Shared by the browser tests: the app served by uvicorn, Debian's Chromium, signing in."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

STARTUP_DEADLINE_S = 10.0
UI_TIMEOUT_MS = 10_000
#: localStorage key of the chosen language (api/static/js/config.js, LANGUAGE_KEY).
LANGUAGE_KEY = "fm.language"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
#: A common phone screen in CSS pixels.
PHONE: ViewportSize = {"width": 390, "height": 844}


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_DEADLINE_S):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        # Pages must be closed first: uvicorn waits for their live streams to end.
        server.should_exit = True
        await serving


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium package (nothing is downloaded)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def new_page(
    browser: Browser, *, language: str | None = "en", viewport: ViewportSize = DESKTOP
) -> AsyncIterator[Page]:
    """A fresh context and page; ``language`` is preset as if the user had chosen it."""
    context = await browser.new_context(accept_downloads=True, viewport=viewport)
    if language is not None:
        await context.add_init_script(
            f"window.localStorage.setItem({LANGUAGE_KEY!r}, {language!r})"
        )
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield page
    finally:
        await context.close()


async def sign_in(page: Page, base_url: str, token: str, *, route: str = "#/board") -> None:
    """Open the interface at ``route`` and sign in with ``token`` (English labels)."""
    await page.goto(base_url + route)
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
