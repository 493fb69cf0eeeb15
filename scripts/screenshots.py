"""Make docs/screenshots/{board,crew,manager,device}.png from a demo-like server with data.

Usage: ``.venv/bin/python scripts/screenshots.py [--out docs/screenshots]``

Seeds a fresh SQLite store on the bundled site (a month of closed orders and ended episodes, a
bad afternoon of open ones, a week of readings of one pipe), serves the app with uvicorn on a
free loopback port and drives Debian's Chromium (nothing is downloaded). Every figure on the
pictures comes from the API's own routes over that history.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from playwright.async_api import async_playwright
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screenshot_data import readings, seed_rows  # noqa: E402  (beside this script)

from api.app import create_app  # noqa: E402
from core.settings import BUNDLED_SITE, Settings  # noqa: E402
from governance.loader import load_site  # noqa: E402
from storage.relational.db import create_engine, session_factory  # noqa: E402
from storage.relational.migrate import upgrade_database  # noqa: E402
from storage.relational.models import WorkOrder  # noqa: E402
from storage.tsdb.factory import open_timeseries  # noqa: E402

TOKEN = "screenshots-token-0123456789"
DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}
STARTUP_S = 15.0
SETTLE_SELECTOR_TIMEOUT_MS = 15_000


async def shoot(base_url: str, out: Path, crew_member: str, chart_device: str) -> None:
    """Drive Chromium through the four views and save a picture of each."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            shots = [
                ("board", "#/board", DESKTOP, "en", ".tile"),
                ("crew", f"#/crew/{crew_member}", PHONE, "en", "article.order"),
                ("manager", "#/manager", DESKTOP, "en", "#league-table"),
                ("device", f"#/device/{chart_device}", DESKTOP, "en", ".chart canvas"),
            ]
            for name, route, viewport, language, ready in shots:
                context = await browser.new_context(viewport=viewport, device_scale_factor=1)
                await context.add_init_script(
                    f"sessionStorage.setItem('fm.adminToken', {TOKEN!r});"
                    f"localStorage.setItem('fm.language', {language!r});"
                )
                page = await context.new_page()
                await page.goto(base_url + route)
                await page.wait_for_selector(ready, timeout=SETTLE_SELECTOR_TIMEOUT_MS)
                await page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                await context.close()
                print(f"wrote {out / f'{name}.png'}")
        finally:
            await browser.close()


async def main(out: Path) -> None:
    site = load_site(BUNDLED_SITE)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="fm-screenshots-") as directory:
        data = Path(directory)
        url = f"sqlite+aiosqlite:///{data / 'fm.sqlite3'}"
        await upgrade_database(url)
        engine = create_engine(url)
        rows = seed_rows(site, now)
        async with session_factory(engine)() as session, session.begin():
            session.add_all(rows)
        chart_device = next(
            o.device_id for o in rows if isinstance(o, WorkOrder) and o.fault_code == "burst"
        )
        assert chart_device is not None
        points = readings(chart_device, now)
        timeseries = open_timeseries(f"sqlite:///{data / 'tsdb.sqlite3'}")
        await timeseries.open()
        await timeseries.write(points)
        settings = Settings(
            data_dir=data, database_url=url, admin_token=SecretStr(TOKEN), site_file=BUNDLED_SITE
        )
        app = create_app(
            settings, site=site, sessions=session_factory(engine), timeseries=timeseries
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
        )
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(STARTUP_S):
                while not server.started:
                    if serving.done():
                        serving.result()  # it failed to start: say why
                    await asyncio.sleep(0.05)
            port = server.servers[0].sockets[0].getsockname()[1]
            orders = [o for o in rows if isinstance(o, WorkOrder)]
            crew_member = orders[-1].assignee
            assert crew_member is not None
            await shoot(f"http://127.0.0.1:{port}/", out, crew_member, chart_device)
        finally:
            server.should_exit = True
            await serving
            await timeseries.close()
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    target = parser.parse_args().out
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
