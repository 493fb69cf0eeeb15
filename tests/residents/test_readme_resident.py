"""The README's "A resident reports a problem" blocks, run as written with curl against a served
API on the example site, so the README cannot drift from what the endpoints do."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.settings import BUNDLED_SITE, Settings
from governance.loader import load_site
from tests.api.conftest import TOKEN, FakeTimeSeries
from tests.servers.ports import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
MARK = "<!-- open311 -->"
SCRIPT_TIMEOUT_S = 30.0


def readme_blocks() -> list[str]:
    """The fenced blocks that follow the section's mark, in order."""
    pattern = re.escape(MARK) + r"\n```[a-z]*\n(.*?)\n```"
    return re.findall(pattern, README.read_text("utf-8"), flags=re.DOTALL)


async def test_the_readme_resident_walkthrough_does_what_it_says(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert shutil.which("curl"), "the README's walkthrough uses curl"
    blocks = readme_blocks()
    assert len(blocks) == 2
    app = create_app(
        settings, site=load_site(BUNDLED_SITE), sessions=sessions, timeseries=FakeTimeSeries()
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.01)
        script = "\n".join(
            [f"FM_URL=http://127.0.0.1:{port}", f'H="Authorization: Bearer {TOKEN}"', *blocks]
        )
        shell = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(shell.communicate(), SCRIPT_TIMEOUT_S)
    finally:
        server.should_exit = True
        await serving
    assert shell.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) == 7, lines
    services, notice, opened, resolved, closed, confirmed, members = lines
    assert "'water_leak'" in services and "'corridor_light_out'" in services
    assert re.fullmatch(
        r"Your report opened order \d+; Sunshine Shuncheng Grid 1 team \(Zhu Wei \(朱伟\)\) "
        r"answers for this building\.",
        notice,
    ), notice
    assert (opened, resolved, closed, confirmed) == ("open", "200", "closed", "closed")
    assert "Zhu Wei (朱伟)" in members
