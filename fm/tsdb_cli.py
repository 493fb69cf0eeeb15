"""``fm tsdb migrate``: bring what earlier versions wrote into the current time-series layout."""

from __future__ import annotations

import argparse
import asyncio

from core.settings import Settings
from governance.model import Site
from storage.tsdb.factory import open_timeseries
from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.influx_migrate import LEGACY_POLICY, migrate_legacy_layout
from storage.tsdb.sqlite import SqliteTimeSeries


def add_tsdb_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fm tsdb …``."""
    tsdb = commands.add_parser("tsdb", help="time-series store")
    actions = tsdb.add_subparsers(dest="tsdb_command", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="move data of the earlier layout into the current one (idempotent)"
    )
    migrate.add_argument(
        "--from-policy",
        default=LEGACY_POLICY,
        help=f"InfluxDB: the policy the earlier layout wrote to (default {LEGACY_POLICY})",
    )
    migrate.set_defaults(func=cmd_tsdb_migrate)


def cmd_tsdb_migrate(args: argparse.Namespace) -> None:
    """Migrate FM_TSDB_URL's earlier layout and print what moved."""
    from fm.cli_support import load_settings, load_site_or_fail

    settings = load_settings()
    site = load_site_or_fail(settings.site_file)
    print(asyncio.run(migrate_store(settings, site, from_policy=args.from_policy)))


async def migrate_store(settings: Settings, site: Site, *, from_policy: str) -> str:
    """Open the store (the SQLite store migrates its single-table layout on open) and, on
    InfluxDB, move the earlier measurement's points; a line saying what was done."""
    from fm.runner import series_tags, store_options

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    options = store_options(settings)
    store = open_timeseries(settings.effective_tsdb_url, options=options, tags=series_tags(site))
    await store.open()
    try:
        if isinstance(store, InfluxV1TimeSeries):
            report = await migrate_legacy_layout(
                store, site.devices, retention_days=options.retention_days, policy=from_policy
            )
            return (
                f"moved {report.points} points of {report.devices} devices "
                f"into the current layout: {store.store}"
            )
        if isinstance(store, SqliteTimeSeries):
            return f"time-series file in the chunked layout: {store.path}"
        return "nothing to migrate"
    finally:
        await store.close()
