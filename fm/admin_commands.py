"""`fm db upgrade|downgrade`, `fm site check`, `fm broker-config`: commands that set things up."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fm.broker_config.files import DEFAULT_LIMITS
from fm.cli_support import WITHOUT_SECRETS, ConfigError, load_settings, load_site_or_fail
from fm.errors import StartupError


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    """Apply the relational schema migrations up to a revision (never back)."""
    from storage.relational.migrate import upgrade_database

    _migrate(lambda url: upgrade_database(url, args.revision))


def cmd_db_downgrade(args: argparse.Namespace) -> None:
    """Take the relational schema back to an older revision (drops what newer ones added)."""
    from storage.relational.migrate import downgrade_database

    _migrate(lambda url: downgrade_database(url, args.revision))


def _migrate(run: Callable[[str], Coroutine[Any, Any, None]]) -> None:
    """Run one migration command and print the revision the database is at afterwards."""
    from storage.relational.migrate import MigrationError, current_revisions

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    try:
        asyncio.run(run(url))
        revisions = ", ".join(current_revisions(url)) or "none (empty)"
    except MigrationError as exc:
        raise StartupError(str(exc)) from exc
    print(f"database at revision {revisions}: {_safe_url(url)}")


def cmd_site_check(args: argparse.Namespace) -> None:
    """Validate a site file and summarise it."""
    path: Path = args.file or load_settings(**WITHOUT_SECRETS).site_file
    site = load_site_or_fail(path)
    print(
        f"{path}: ok — {site.street.name}: {len(site.communities)} communities, "
        f"{len(site.grids)} grids, {len(site.buildings)} buildings, {len(site.devices)} devices, "
        f"{len(site.teams)} teams, {len(site.departments)} departments"
    )


def cmd_broker_config(args: argparse.Namespace) -> None:
    """Mosquitto config, password file, ACL and credentials.csv from the site file."""
    from fm.broker_config import BrokerConfigError, write_broker_config
    from fm.broker_config.command import layout_of, summary

    settings = load_settings(**WITHOUT_SECRETS)
    site = load_site_or_fail(args.site or settings.site_file)
    try:
        files = write_broker_config(
            site, args.out, prefix=settings.mqtt_prefix, layout=layout_of(args, DEFAULT_LIMITS)
        )
    except (BrokerConfigError, OSError) as exc:
        raise ConfigError(f"broker-config: {exc}") from exc
    print(summary(files))


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
