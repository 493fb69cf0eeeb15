"""The README's tour, run as written against a real `fm demo`, so the README cannot drift.

The tour's shell blocks are the fenced blocks preceded by ``<!-- tour -->``; the first one sets
the variables the others use, so each later block runs in a fresh bash after it. The only edits
are the two ports the README gives as defaults. What the README says each step produces is
asserted here in the same order.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from tests.e2e.helpers import eventually, start_fm
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
TOUR_MARK = "<!-- tour -->"
BANNER_MARK = "<!-- tour-banner -->"
DEFAULT_HTTP = "FM_URL=http://127.0.0.1:8000"
DEFAULT_MQTT = "MQTT_PORT=1883"
DEVICE = "ssc-g01-b1-light-1"
# What the README's prose promises for that device (checked against the site file as well).
TEAM, ASSIGNEE = "ssc-g01-team", "ssc-g01-ft2"
# Shorter than the 10 s default so the sensor's recovery arrives quickly; the README promises
# recovery "within one simulator interval", whatever the interval.
SIMULATE_INTERVAL_S = 2.0
STARTUP_S = 40.0
STEP_S = 15.0
RECOVERY_S = 5 * SIMULATE_INTERVAL_S
SHUTDOWN_S = 20.0
BASH_TIMEOUT_S = 30.0


def fenced_blocks_after(text: str, mark: str) -> list[str]:
    """The bodies of the fenced code blocks that directly follow ``mark``, in order."""
    pattern = re.escape(mark) + r"\n```[a-z]*\n(.*?)\n```"
    return re.findall(pattern, text, flags=re.DOTALL)


@dataclass
class Demo:
    """A running `fm demo` process with its own ports and data directory."""

    process: subprocess.Popen[str]
    http_port: int
    mqtt_port: int
    workdir: Path
    log: Path

    @property
    def data_dir(self) -> Path:
        return self.workdir / "var"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    http_port, mqtt_port = free_port(), free_port()
    env = {
        **os.environ,
        "FM_HTTP_PORT": str(http_port),
        "FM_MQTT_PORT": str(mqtt_port),
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_SIMULATE": "true",
        "FM_SIMULATE_INTERVAL_S": str(SIMULATE_INTERVAL_S),
    }
    # The README's token comes from var/admin-token, which the demo writes when none is set.
    for inherited in ("FM_MQTT_URL", "FM_ADMIN_TOKEN", "FM_DATABASE_URL", "FM_TSDB_URL"):
        env.pop(inherited, None)
    log = tmp_path / "demo.log"
    process = start_fm("demo", env=env, log=log, cwd=tmp_path)
    try:
        yield Demo(process, http_port, mqtt_port, tmp_path, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_S)


async def run_block(demo: Demo, setup: str, block: str) -> str:
    """Run the setup block and then ``block`` in a fresh bash in the demo's directory."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        f"{setup}\n{block}",
        cwd=demo.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), BASH_TIMEOUT_S)
    assert process.returncode == 0, f"tour block failed:\n{block}\nstderr: {err.decode()}"
    return out.decode()


def normalised_banner(demo: Demo, token: str) -> str:
    """The demo's log with this run's ports, token and data dir put back to the README's."""
    text = demo.log.read_text()
    text = text.replace(f":{demo.http_port}/", ":8000/").replace(f":{demo.mqtt_port}", ":1883")
    return text.replace(token, "<token>").replace(str(demo.data_dir), "<FM_DATA_DIR>")


@dataclass(frozen=True)
class Tour:
    """The README's tour blocks, with this run's ports in place of the README's defaults."""

    setup: str
    publish: str
    list_orders: str
    crew_commands: str
    banner: str

    @classmethod
    def from_readme(cls, demo: Demo) -> Tour:
        readme = README.read_text(encoding="utf-8")
        blocks = fenced_blocks_after(readme, TOUR_MARK)
        assert len(blocks) == 4, f"expected setup, publish, list and crew blocks; got {blocks!r}"
        setup, publish, list_orders, crew_commands = blocks
        assert DEFAULT_HTTP in setup and DEFAULT_MQTT in setup, setup
        setup = setup.replace(DEFAULT_HTTP, f"FM_URL=http://127.0.0.1:{demo.http_port}")
        setup = setup.replace(DEFAULT_MQTT, f"MQTT_PORT={demo.mqtt_port}")
        (banner,) = fenced_blocks_after(readme, BANNER_MARK)
        return cls(setup, publish, list_orders, crew_commands, banner)

    async def run(self, demo: Demo, block: str) -> str:
        """Run the setup block and then ``block`` in a fresh bash in the demo's directory."""
        return await run_block(demo, self.setup, block)

    async def orders(self, demo: Demo) -> list[dict[str, Any]]:
        """The output of the README's work-order listing, parsed."""
        found: list[dict[str, Any]] = json.loads(await self.run(demo, self.list_orders))
        return found


@asynccontextmanager
async def team_topic(demo: Demo, team_id: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Every notification on the team's work-order topic while the context is open."""
    heard: list[dict[str, Any]] = []
    async with aiomqtt.Client("127.0.0.1", demo.mqtt_port, identifier="readme-tour-crew") as crew:
        await crew.subscribe(f"fm/teams/{team_id}/workorders", qos=1)

        async def listen() -> None:
            async for message in crew.messages:
                heard.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

        listener = asyncio.create_task(listen(), name="readme-tour-crew")
        try:
            yield heard
        finally:
            listener.cancel()


async def wait_until_ready(demo: Demo, client: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        assert demo.process.poll() is None, demo.log.read_text()
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, within=STARTUP_S, interval=0.2, what="the demo to be ready")


@pytest.mark.timeout(150)  # a demo start, two sensor recoveries and a clean stop, under load
async def test_the_readme_tour_does_what_the_readme_says(demo: Demo) -> None:
    tour = Tour.from_readme(demo)
    route = load_site(BUNDLED_SITE).route(DEVICE)
    assert (route.team.id, route.assignee.id) == (TEAM, ASSIGNEE), "README names stale people"
    base_url = f"http://127.0.0.1:{demo.http_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        await wait_until_ready(demo, client)
        token = (demo.data_dir / "admin-token").read_text().strip()
        # The banner is printed before the API starts listening, so it is there once ready.
        printed = normalised_banner(demo, token)
        for line in tour.banner.splitlines():
            assert line in printed, f"README banner line not printed: {line!r}\n{printed}"

        async with team_topic(demo, TEAM) as team_news:
            await tour.run(demo, tour.publish)
            opened = await eventually(
                lambda: tour.orders(demo), within=STEP_S, what="the short_circuit order"
            )
            assert [
                (o["fault_code"], o["status"], o["team_id"], o["assignee"]) for o in opened
            ] == [("short_circuit", "open", TEAM, ASSIGNEE)]
            order_id = opened[0]["id"]

            async def team_heard() -> bool:
                return any((n["order_id"], n["change"]) == (order_id, "opened") for n in team_news)

            await eventually(team_heard, within=STEP_S, what="the order on the team's topic")

        async def recovered() -> dict[str, Any] | None:
            (order,) = await tour.orders(demo)
            return order if order["recovered_at"] else None

        await eventually(recovered, within=RECOVERY_S, what="recovered_at from the sensor")

        # The same fault again: the same order, a second occurrence, and (once the simulated
        # light's next healthy reading is in) no open fault left to change the order under the
        # crew's commands.
        await tour.run(demo, tour.publish)

        async def second_occurrence_recovered() -> bool:
            (order,) = await tour.orders(demo)
            device = await client.get(
                f"/api/v1/devices/{DEVICE}", headers={"Authorization": f"Bearer {token}"}
            )
            return order["occurrences"] == 2 and not device.json()["open_faults"]

        await eventually(
            second_occurrence_recovered, within=RECOVERY_S, what="a second occurrence, recovered"
        )

    lines = (await tour.run(demo, tour.crew_commands)).splitlines()
    assert len(lines) == 4, lines
    steps = [line.rsplit(" ", 1) for line in lines[:3]]
    assert [(json.loads(body)["status"], code) for body, code in steps] == [
        ("acknowledged", "200"),
        ("resolved", "200"),
        ("closed", "200"),
    ]
    history = [row for row in json.loads(lines[3]) if row["actor"] != "system"]
    assert [(row["action"], row["on_behalf_of"]) for row in history] == [
        ("ack", ASSIGNEE),
        ("resolve", None),
        ("close", None),
    ]
    assert history[-1]["note"] == "fuse replaced, lamp checked after dark"

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=SHUTDOWN_S) == 0, demo.log.read_text()
    assert "Traceback" not in demo.log.read_text()
