"""docker-compose.yml cannot be run here (no Docker engine): check each service outside Docker."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from fm.cli import build_parser
from tests.servers.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
FM_SERVICES = ("migrate", "gateway", "alerts", "api")
SECRETS = {"FM_POSTGRES_PASSWORD": "pg-secret-value", "FM_ADMIN_TOKEN": "compose-admin-token-0123"}


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
    assert settings.mqtt_url == "mqtt://mosquitto:1883"
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


@pytest.mark.integration
def test_mosquitto_accepts_the_compose_config(tmp_path: Path) -> None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    assert Path(binary).exists(), "mosquitto is missing: `make test` installs it"
    port = free_port()
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    conf = conf.replace("listener 1883 0.0.0.0", f"listener {port} 127.0.0.1")
    conf = conf.replace("/mosquitto/data/", f"{tmp_path}/")
    (tmp_path / "mosquitto.conf").write_text(conf)
    process = subprocess.Popen(
        [binary, "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("mosquitto did not listen with the compose config")
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
