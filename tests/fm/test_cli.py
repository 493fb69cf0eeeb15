"""The `fm` command line: settings errors name their variable; `fm db` rolls back only on demand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fm.cli import EXIT_CONFIG, EXIT_STARTUP, main
from storage.relational.migrate import current_revisions, head_revisions

OLDER = "0003_lifecycle"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh FM_* environment whose relational store is a SQLite file under ``tmp_path``."""
    for name in [name for name in os.environ if name.startswith("FM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FM_DATA_DIR", str(tmp_path))
    return f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"


def test_a_missing_site_file_is_reported_under_its_own_variable(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FM_SITE_FILE", str(tmp_path / "nowhere.yaml"))

    assert main(["site", "check"]) == EXIT_CONFIG

    err = capsys.readouterr().err
    assert f"FM_SITE_FILE {tmp_path / 'nowhere.yaml'} does not exist" in err
    assert "FM_SETTINGS" not in err and "Value error" not in err


def test_upgrade_prints_the_revision_the_database_reached(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert f"database at revision {', '.join(head_revisions())}:" in capsys.readouterr().out


def test_upgrade_to_an_older_revision_refuses_and_points_to_downgrade(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0

    assert main(["db", "upgrade", OLDER]) == EXIT_STARTUP

    assert f"`fm db downgrade {OLDER}`" in capsys.readouterr().err
    assert current_revisions(database) == head_revisions()


def test_downgrade_takes_the_schema_back_and_upgrade_brings_it_forward(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0

    assert main(["db", "downgrade", OLDER]) == 0
    back = current_revisions(database)
    assert main(["db", "upgrade"]) == 0

    assert OLDER in back and not set(head_revisions()) & set(back)
    assert f"database at revision {', '.join(back)}:" in capsys.readouterr().out
    assert current_revisions(database) == head_revisions()
