"""Secrets stay out of the logs, and commands that need none ignore a bad one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from core.settings import BUNDLED_SITE
from fm.cli import QUIET_LOGGERS, configure_logging, main

ROBOT_KEY = "robot-key-0123456789"


class _Robot(BaseHTTPRequestHandler):
    """A robot webhook that accepts every message."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"errcode":0}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the server's own access log is not under test."""


@pytest.fixture
def robot_url() -> Iterator[str]:
    """A local robot's webhook URL with its key in the query, as WeCom's has."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key={ROBOT_KEY}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def restored_logger_levels() -> Iterator[None]:
    """Library loggers as a fresh process has them (earlier `main()` calls in this session set
    them), and as they were again afterwards."""
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restored_logger_levels")
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_robot_request_logs_no_key_under_the_cli_logging(
    robot_url: str, caplog: pytest.LogCaptureFixture, level: str
) -> None:
    caplog.set_level(level)
    with httpx.Client() as client:
        assert client.post(robot_url, json={"msgtype": "text"}).status_code == 200
        # Left alone, httpx logs the request line with the key: the hazard is real.
        assert ROBOT_KEY in caplog.text
        caplog.clear()

        configure_logging(level)
        logging.getLogger("fm").info("still logging")
        assert client.post(robot_url, json={"msgtype": "text"}).status_code == 200

    assert "still logging" in caplog.text
    assert ROBOT_KEY not in caplog.text


@pytest.mark.parametrize("token", ["changeme", "short"])
def test_site_check_ignores_a_bad_admin_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    monkeypatch.setenv("FM_ADMIN_TOKEN", token)
    assert main(["site", "check"]) == 0
    assert main(["site", "check", str(BUNDLED_SITE)]) == 0
    assert ": ok — " in capsys.readouterr().out


def test_broker_config_ignores_a_bad_admin_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FM_ADMIN_TOKEN", "changeme")
    assert main(["broker-config", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "credentials.csv").is_file()


def test_the_api_still_refuses_a_placeholder_admin_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FM_ADMIN_TOKEN", "changeme")
    assert main(["api"]) == 2
    assert "FM_ADMIN_TOKEN is a placeholder" in capsys.readouterr().err
