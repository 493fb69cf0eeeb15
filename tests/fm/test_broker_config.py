"""`fm broker-config` files without a broker: accounts, kept passwords, hashes, ACL, modes."""

from __future__ import annotations

import csv
import logging
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import BUNDLED_SITE, Settings
from fm.broker import OPEN_BROKER_NOTICE, EmbeddedBroker
from fm.broker_config import BrokerConfigError, Role, write_broker_config
from fm.broker_config.accounts import read_credentials
from fm.broker_config.files import ACL_FILE, CREDENTIALS_FILE, PASSWORD_FILE
from fm.broker_config.mosquitto import hash_password, password_matches
from fm.cli import main
from fm.demo import banner
from governance.loader import load_site
from governance.model import Site
from tests.servers.ports import free_port


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(BUNDLED_SITE)


def credentials(directory: Path) -> dict[str, tuple[str, str]]:
    with (directory / CREDENTIALS_FILE).open(newline="") as handle:
        return {row["username"]: (row["password"], row["role"]) for row in csv.DictReader(handle)}


def acl_rules(directory: Path, username: str) -> list[str]:
    """The ACL lines under ``user <username>``."""
    blocks = (directory / ACL_FILE).read_text().split("\n\n")
    for block in blocks:
        lines = block.splitlines()
        if lines and lines[0] == f"user {username}":
            return lines[1:]
    raise AssertionError(f"no ACL block for {username}")


def test_one_account_per_device_and_team_and_service(site: Site, tmp_path: Path) -> None:
    write_broker_config(site, tmp_path, prefix="fm")
    accounts = credentials(tmp_path)
    roles = [role for _, role in accounts.values()]
    assert roles.count(Role.DEVICE) == len(site.devices)
    assert roles.count(Role.TEAM) == len(site.teams)
    assert {name: accounts[name][1] for name in ("fm-gateway", "fm-api", "fm-alerts")} == {
        "fm-gateway": "gateway",
        "fm-api": "api",
        "fm-alerts": "alerts",
    }
    device = next(iter(site.devices))
    assert accounts[device][1] == "device"
    assert len({password for password, _ in accounts.values()}) == len(accounts)


def test_a_rerun_keeps_passwords_and_follows_the_site(site: Site, tmp_path: Path) -> None:
    write_broker_config(site, tmp_path, prefix="fm")
    before = credentials(tmp_path)
    gone, kept, *_ = sorted(site.devices)
    devices = {key: value for key, value in site.devices.items() if key != gone}
    devices["new-device-1"] = replace(site.devices[gone], id="new-device-1")

    files = write_broker_config(replace(site, devices=devices), tmp_path, prefix="fm")

    after = credentials(tmp_path)
    assert after[kept] == before[kept]
    assert after["fm-gateway"] == before["fm-gateway"]
    assert gone not in after
    assert after["new-device-1"][1] == "device"
    assert files.plan.added == ("new-device-1",)
    assert files.plan.removed == (gone,)
    passwords = (tmp_path / PASSWORD_FILE).read_text()
    assert f"\n{gone}:" not in passwords
    hashed = dict(line.split(":", 1) for line in passwords.splitlines())
    assert password_matches(after["new-device-1"][0], hashed["new-device-1"])
    assert password_matches(after[kept][0], hashed[kept])


def test_an_account_whose_role_changed_gets_a_new_password(site: Site, tmp_path: Path) -> None:
    team = sorted(site.teams)[0]
    device = sorted(site.devices)[0]
    write_broker_config(site, tmp_path, prefix="fm")
    before = credentials(tmp_path)
    # The same name now belongs to a device: a password handed to crews must not let it in.
    renamed = {f"team-{team}": replace(site.devices[device], id=f"team-{team}")}
    teams = {key: value for key, value in site.teams.items() if key != team}
    grids = {
        key: replace(grid, team_id=sorted(teams)[0]) if grid.team_id == team else grid
        for key, grid in site.grids.items()
    }
    changed = replace(site, devices={**site.devices, **renamed}, teams=teams, grids=grids)

    write_broker_config(changed, tmp_path, prefix="fm")

    password, role = credentials(tmp_path)[f"team-{team}"]
    assert role == "device"
    assert password != before[f"team-{team}"][0]


def test_secret_files_are_owner_only(site: Site, tmp_path: Path) -> None:
    write_broker_config(site, tmp_path, prefix="fm")
    for name in (CREDENTIALS_FILE, PASSWORD_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_acl_grants_each_role_its_topics_under_the_prefix(site: Site, tmp_path: Path) -> None:
    write_broker_config(site, tmp_path, prefix="street7")
    device = sorted(site.devices)[0]
    team = sorted(site.teams)[0]
    assert acl_rules(tmp_path, device) == [
        f"topic write street7/{device}/telemetry",
        f"topic write street7/{device}/event",
        f"topic write street7/{device}/status",
    ]
    assert acl_rules(tmp_path, f"team-{team}") == [f"topic read street7/teams/{team}/#"]
    assert acl_rules(tmp_path, "fm-alerts") == ["topic write street7/teams/+/workorders"]
    gateway = acl_rules(tmp_path, "fm-gateway")
    assert "topic read street7/+/telemetry" in gateway
    assert not [rule for rule in gateway if rule.startswith("topic write street7/+")]


def test_the_conf_points_into_the_directory_as_the_broker_sees_it(
    site: Site, tmp_path: Path
) -> None:
    assert main(["broker-config", "--out", str(tmp_path), "--broker-dir", "/mosquitto/config"]) == 0
    conf = (tmp_path / "mosquitto.conf").read_text().splitlines()
    assert "allow_anonymous false" in conf
    assert "password_file /mosquitto/config/passwords" in conf
    assert "acl_file /mosquitto/config/acl" in conf
    assert "max_inflight_messages 1000" in conf
    assert "persistence true" in conf


def test_a_device_named_like_a_service_account_is_refused(site: Site, tmp_path: Path) -> None:
    device = sorted(site.devices)[0]
    clash = {"fm-gateway": replace(site.devices[device], id="fm-gateway")}
    with pytest.raises(BrokerConfigError, match="fm-gateway"):
        write_broker_config(replace(site, devices={**site.devices, **clash}), tmp_path, prefix="fm")
    assert not (tmp_path / CREDENTIALS_FILE).exists()


def test_a_damaged_credentials_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / CREDENTIALS_FILE
    path.write_text("username,password,role\nfm-gateway,pw,gateway\nsomeone,pw,superuser\n")
    with pytest.raises(BrokerConfigError, match=r"credentials.csv:3: unknown role 'superuser'"):
        read_credentials(path)


def test_the_cli_reports_a_damaged_credentials_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / CREDENTIALS_FILE).write_text("user;pass\n")
    assert main(["broker-config", "--out", str(tmp_path)]) == 2
    assert "the first line must be username,password,role" in capsys.readouterr().err


def test_hashes_round_trip_with_mosquitto_passwd(tmp_path: Path) -> None:
    binary = shutil.which("mosquitto_passwd")
    assert binary, "mosquitto_passwd is missing: `make test` installs mosquitto"
    path = tmp_path / "passwords"
    path.write_text("alice:correct horse\n")
    subprocess.run([binary, "-U", str(path)], check=True, timeout=10)
    theirs = path.read_text().strip().split(":", 1)[1]
    ours = hash_password("correct horse", salt=bytes(12))

    assert password_matches("correct horse", theirs)
    assert not password_matches("wrong horse", theirs)
    assert ours.split("$")[:3] == theirs.split("$")[:3] == ["", "7", "101"]
    assert len(ours) == len(theirs)


@pytest.mark.integration
async def test_the_embedded_demo_broker_says_it_is_open(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fm.broker"):
        async with EmbeddedBroker(host="127.0.0.1", port=free_port()):
            pass
    assert [r.getMessage() for r in caplog.records if OPEN_BROKER_NOTICE in r.getMessage()]


def test_the_demo_banner_flags_only_the_embedded_broker(site: Site) -> None:
    embedded = Settings(mqtt_url=None)
    external = Settings(mqtt_url="mqtt://fm-gateway:pw@broker.example:1883")
    assert OPEN_BROKER_NOTICE in banner(embedded, token="t", site=site, simulated=0)
    assert OPEN_BROKER_NOTICE not in banner(external, token="t", site=site, simulated=0)
