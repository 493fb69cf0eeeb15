"""docs/your-site.md: its example site file is valid as shown, and its compose override fits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from governance.loader import parse_site

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "your-site.md").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
# fm commands that never read the site file (only settings).
SITELESS_COMMANDS = {("db", "upgrade")}


def block_after(mark: str, language: str) -> str:
    found = re.search(re.escape(mark) + rf"\n```{language}\n(.*?)\n```", DOC, re.DOTALL)
    assert found, f"no {mark} {language} block in docs/your-site.md"
    return found.group(1)


def test_the_example_site_is_valid_and_summarised_as_the_doc_shows() -> None:
    site = parse_site(block_after("<!-- site-example -->", "yaml"), source="my-street.yaml")
    summary = (
        f"my-street.yaml: ok — {site.street.name}: {len(site.communities)} communities, "
        f"{len(site.grids)} grids, {len(site.buildings)} buildings, {len(site.devices)} devices, "
        f"{len(site.teams)} teams, {len(site.departments)} departments"
    )
    assert summary in DOC
    route = site.route("elm-n-g01-b1-pipe")
    assert (route.team.id, route.assignee.id) == ("elm-n-g01-team", "elm-n-g01-ft1")
    assert site.route("elm-n-g01-b2-shed").assignee.id == "elm-n-g01-leader"


def test_the_compose_override_mounts_the_site_into_every_service_that_reads_it() -> None:
    override: dict[str, Any] = yaml.safe_load(block_after("<!-- compose-override -->", "yaml"))
    services = COMPOSE["services"]
    readers = {
        name
        for name, service in services.items()
        if service.get("image", "").startswith("facility-monitor")
        and tuple(service["command"]) not in SITELESS_COMMANDS
    }
    assert readers == set(override["services"])
    for name, service in override["services"].items():
        site_file = service["environment"]["FM_SITE_FILE"]
        mounts = [volume.split(":") for volume in service["volumes"]]
        assert [(host, ro) for host, container, ro in mounts if container == site_file] == [
            ("./my-street.yaml", "ro")
        ], name
        assert "FM_SITE_FILE" not in services[name]["environment"], "compose sets it already"
