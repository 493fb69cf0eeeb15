"""Settings: DESIGN.md's run-time defaults, FM_* environment variables, and clear rejections."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import BUNDLED_SITE, Settings

STRONG_TOKEN = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f11"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the FM_* variables they set themselves."""
    for name in list(os.environ):
        if name.upper().startswith("FM_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_run_time_contract() -> None:
    settings = Settings()
    assert settings.mqtt_url is None  # `fm demo` starts the embedded broker
    assert settings.mqtt_port == 1883
    assert settings.http_port == 8000
    assert settings.data_dir == Path("./var")
    assert settings.database_url is None
    assert settings.tsdb_url is None
    assert settings.site_file == BUNDLED_SITE
    assert settings.site_file.is_file()
    assert settings.admin_token is None  # `fm demo` generates one
    assert settings.simulate is True
    assert settings.mqtt_prefix == "fm"
    assert settings.log_level == "INFO"


def test_fm_prefixed_environment_variables_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("version: 1\n", encoding="utf-8")
    environment = {
        "FM_MQTT_URL": "mqtt://gw:s3cret@broker.example:1884",
        "FM_MQTT_PORT": "11883",
        "FM_HTTP_PORT": "8080",
        "FM_DATA_DIR": str(tmp_path / "data"),
        "FM_DATABASE_URL": "postgresql+psycopg://fm:pw@db:5432/fm",
        "FM_TSDB_URL": "influxdb://tsdb:8086/fm",
        "FM_SITE_FILE": str(site),
        "FM_ADMIN_TOKEN": STRONG_TOKEN,
        "FM_SIMULATE": "false",
        "FM_LOG_LEVEL": "DEBUG",
        "FM_TSDB_BATCH_SIZE": "250",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.mqtt_url == "mqtt://gw:s3cret@broker.example:1884"
    assert settings.mqtt_port == 11883
    assert settings.http_port == 8080
    assert settings.data_dir == tmp_path / "data"
    assert settings.effective_database_url == "postgresql+psycopg://fm:pw@db:5432/fm"
    assert settings.effective_tsdb_url == "influxdb://tsdb:8086/fm"
    assert settings.site_file == site
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == STRONG_TOKEN
    assert settings.simulate is False
    assert settings.log_level == "DEBUG"
    assert settings.tsdb_batch_size == 250


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9999")
    assert Settings().http_port == 8000


def test_empty_urls_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FM_MQTT_URL", "FM_DATABASE_URL", "FM_TSDB_URL"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.mqtt_url, settings.database_url, settings.tsdb_url) == (None, None, None)


BAD_VALUES = {
    "port zero": ("FM_MQTT_PORT", "0", "mqtt_port", "greater than or equal to 1"),
    "port too large": ("FM_HTTP_PORT", "70000", "http_port", "less than or equal to 65535"),
    "port not a number": ("FM_HTTP_PORT", "eighty", "http_port", "valid integer"),
    "placeholder token": ("FM_ADMIN_TOKEN", "changeme", "admin_token", "placeholder"),
    "placeholder token, any case": ("FM_ADMIN_TOKEN", " Secret ", "admin_token", "placeholder"),
    "short token": ("FM_ADMIN_TOKEN", "abc123", "admin_token", "at least 16 characters"),
    "mqtt url scheme": ("FM_MQTT_URL", "http://broker:1883", "mqtt_url", "mqtt://"),
    "mqtt url without host": ("FM_MQTT_URL", "mqtt://", "mqtt_url", "mqtt://"),
    "mqtt url bad port": ("FM_MQTT_URL", "mqtt://broker:99999", "mqtt_url", "bad port"),
    "database url scheme": ("FM_DATABASE_URL", "mysql://db/fm", "database_url", "postgresql"),
    "tsdb url scheme": ("FM_TSDB_URL", "http://tsdb:8086", "tsdb_url", "influxdb://"),
    "simulate not a bool": ("FM_SIMULATE", "maybe", "simulate", "valid boolean"),
    "log level": ("FM_LOG_LEVEL", "CHATTY", "log_level", "pattern"),
    "mqtt prefix with a slash": ("FM_MQTT_PREFIX", "fm/x", "mqtt_prefix", "pattern"),
    "public url scheme": ("FM_PUBLIC_URL", "ftp://fm.example.org", "public_url", "https://"),
    "public url with a query": (
        "FM_PUBLIC_URL",
        "https://fm.example.org/?a=1",
        "public_url",
        "query",
    ),
    "public url that breaks links": ("FM_PUBLIC_URL", "https://x.org/a)b", "public_url", "()"),
    "negative flush interval": ("FM_TSDB_FLUSH_INTERVAL_S", "-1", "tsdb_flush_interval_s", "0"),
}


@pytest.mark.parametrize(("name", "value", "field", "words"), BAD_VALUES.values(), ids=BAD_VALUES)
def test_bad_values_are_rejected_clearly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert words in error["msg"]


def test_the_public_url_defaults_to_this_machines_http_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FM_HTTP_PORT", "8123")
    assert Settings().effective_public_url == "http://localhost:8123"
    monkeypatch.setenv("FM_PUBLIC_URL", "https://fm.example.org/monitor/")
    assert Settings().effective_public_url == "https://fm.example.org/monitor"


def test_missing_site_file_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("FM_SITE_FILE", str(missing))
    with pytest.raises(ValidationError, match=f"FM_SITE_FILE {missing} does not exist"):
        Settings()
    monkeypatch.setenv("FM_SITE_FILE", str(tmp_path))  # a directory is not a site file
    with pytest.raises(ValidationError, match="is not a file"):
        Settings()


def test_token_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FM_ADMIN_TOKEN", STRONG_TOKEN)
    settings = Settings()
    assert STRONG_TOKEN not in repr(settings)
    assert STRONG_TOKEN not in str(settings.model_dump())


def test_stores_default_to_sqlite_files_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FM_DATA_DIR", str(tmp_path))
    settings = Settings()
    data_dir = tmp_path.resolve()
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{data_dir / 'fm.sqlite3'}"
    assert settings.effective_tsdb_url == f"sqlite:///{data_dir / 'telemetry.sqlite3'}"


def test_relative_data_dir_resolves_to_an_absolute_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()  # data_dir ./var
    expected = (tmp_path / "var").resolve()
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{expected / 'fm.sqlite3'}"
    assert settings.effective_tsdb_url.startswith(f"sqlite:///{expected}/")


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.http_port = 9000  # type: ignore[misc]


def test_every_setting_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text("utf-8")
    undocumented = [n for n in Settings.model_fields if f"`FM_{n.upper()}`" not in docs]
    assert undocumented == []
