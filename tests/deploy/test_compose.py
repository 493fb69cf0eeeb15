"""docker-compose.yml cannot be run here (no Docker engine): check each service outside Docker."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import time
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from core.mqtt import broker_address
from core.settings import BUNDLED_SITE, Settings
from fm.broker_config import Role, write_broker_config
from fm.broker_config.files import ACL_FILE, CONF_FILE, PASSWORD_FILE, BrokerLayout
from fm.cli import build_parser
from governance.loader import load_site
from tests.servers.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
FM_SERVICES = ("migrate", "gateway", "alerts", "api")
SECRETS = {
    "FM_POSTGRES_PASSWORD": "pg-secret-value",
    "FM_ADMIN_TOKEN": "compose-admin-token-0123",
    "FM_MQTT_GATEWAY_PASSWORD": "gateway-broker-password",
    "FM_MQTT_ALERTS_PASSWORD": "alerts-broker-password",
    "FM_MQTT_API_PASSWORD": "api-broker-password",
}
#: The broker account each service logs in with (one per role, from `fm broker-config`).
BROKER_LOGINS = {
    "gateway": ("fm-gateway", "gateway-broker-password"),
    "alerts": ("fm-alerts", "alerts-broker-password"),
    "api": ("fm-api", "api-broker-password"),
}
#: Where the mosquitto service sees the generated directory.
BROKER_DIR_IN_CONTAINER = "/mosquitto/config"


def interpolate(value: str) -> str:
    """Compose's ${VAR:?message} with the test's secrets."""
    return re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda m: SECRETS[m.group(1)], value)


def service_env(name: str) -> dict[str, str]:
    env: dict[str, Any] = COMPOSE["services"][name]["environment"]
    return {key: interpolate(str(value)) for key, value in env.items()}


@pytest.mark.parametrize("name", FM_SERVICES)
def test_fm_service_command_is_a_real_subcommand(name: str) -> None:
    command = COMPOSE["services"][name]["command"]
    args = build_parser().parse_args(command)
    assert callable(args.func)


@pytest.mark.parametrize("name", FM_SERVICES)
def test_fm_service_environment_is_valid_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = service_env(name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    if name in BROKER_LOGINS:
        address = broker_address(settings)
        assert (address.host, address.port) == ("mosquitto", 1883)
        assert (address.username, address.password) == BROKER_LOGINS[name]
    else:
        assert settings.mqtt_url is None  # migrate speaks to PostgreSQL only
    assert settings.effective_database_url.startswith(
        "postgresql+psycopg://fm:pg-secret-value@postgres"
    )
    assert settings.effective_tsdb_url == "influxdb://influxdb:8086/fm"
    if name == "api":
        assert settings.admin_token is not None
        assert settings.http_host == "0.0.0.0"


def test_every_env_key_is_a_setting() -> None:
    known = {f"FM_{field.upper()}" for field in Settings.model_fields}
    for name in FM_SERVICES:
        assert set(service_env(name)) <= known, f"{name} sets an unknown FM_ variable"


def test_the_gateway_exposes_its_metrics_port_on_every_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in service_env("gateway").items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.metrics_host == "0.0.0.0"
    assert COMPOSE["services"]["gateway"]["expose"] == [str(settings.metrics_port)]


def test_postgres_credentials_match_the_database_url() -> None:
    postgres = {
        k: interpolate(str(v)) for k, v in COMPOSE["services"]["postgres"]["environment"].items()
    }
    url = service_env("gateway")["FM_DATABASE_URL"]
    user, password, db = (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    expected = f"{user}:{password}@postgres:5432/{db}"
    assert expected in url


def test_dockerfile_copies_every_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in packages:
        assert f"COPY {package} {package}" in dockerfile, f"Dockerfile misses {package}/"


def test_each_fm_service_logs_in_with_an_account_broker_config_writes(tmp_path: Path) -> None:
    files = write_broker_config(load_site(BUNDLED_SITE), tmp_path, prefix="fm")
    roles = {account.username: account.role for account in files.plan.accounts}
    for service, (username, _) in BROKER_LOGINS.items():
        assert roles[username] is Role(service), f"{service} logs in as {username}"


def test_mosquitto_mounts_the_generated_directory() -> None:
    mosquitto = COMPOSE["services"]["mosquitto"]
    assert f"./broker:{BROKER_DIR_IN_CONTAINER}:ro" in mosquitto["volumes"]
    # The image's default command reads mosquitto.conf from there.
    assert "command" not in mosquitto
    assert mosquitto["image"].startswith("eclipse-mosquitto:2")


def _start_mosquitto(conf: Path, port: int) -> subprocess.Popen[str]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    assert Path(binary).exists(), "mosquitto is missing: `make test` installs it"
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"mosquitto exited with the compose config:\n{output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise AssertionError("mosquitto did not listen with the compose config")


def _healthcheck(port: int, password: str) -> subprocess.CompletedProcess[str]:
    """The mosquitto service's healthcheck, run against the local broker."""
    test = COMPOSE["services"]["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    # Compose turns $$ into $, then the shell expands the password variable.
    command = test[1].replace("$$", "$").replace("mosquitto_sub ", f"mosquitto_sub -p {port} ")
    env = {"PATH": "/usr/bin:/bin", "FM_MQTT_GATEWAY_PASSWORD": password}
    return subprocess.run(
        ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=10, check=False
    )


@pytest.mark.integration
def test_mosquitto_runs_the_generated_config_and_its_healthcheck_passes(tmp_path: Path) -> None:
    out = tmp_path / "broker"
    files = write_broker_config(
        load_site(BUNDLED_SITE),
        out,
        prefix="fm",
        layout=BrokerLayout(broker_dir=PurePosixPath(BROKER_DIR_IN_CONTAINER)),
    )
    conf = files.conf.read_text()
    assert f"password_file {BROKER_DIR_IN_CONTAINER}/{PASSWORD_FILE}" in conf
    assert f"acl_file {BROKER_DIR_IN_CONTAINER}/{ACL_FILE}" in conf
    # What the container's mounts do, done by rewriting paths: the directory, the data volume.
    port = free_port()
    conf = conf.replace(BROKER_DIR_IN_CONTAINER, str(out)).replace(
        "/mosquitto/data/", f"{tmp_path}/"
    )
    conf = conf.replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    if os.geteuid() == 0:
        conf += f"user {getpass.getuser()}\n"
    (tmp_path / CONF_FILE).write_text(conf)
    gateway_password = next(
        account.password for account in files.plan.accounts if account.role is Role.GATEWAY
    )
    process = _start_mosquitto(tmp_path / CONF_FILE, port)
    try:
        healthy = _healthcheck(port, gateway_password)
        assert healthy.returncode == 0, healthy.stderr
        refused = _healthcheck(port, "not-the-password")
        assert refused.returncode != 0
        assert "not authorised" in refused.stderr.lower()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_the_gateway_hands_events_to_a_running_alerts_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A gateway committing to the inbox with no `fm alerts` to read it would open no order.
    for key, value in service_env("gateway").items():
        monkeypatch.setenv(key, value)
    assert Settings().alerts_handoff == "inbox"
    alerts = COMPOSE["services"]["alerts"]
    assert alerts["command"] == ["alerts"]
    assert alerts["restart"] == "unless-stopped"
    assert alerts["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
