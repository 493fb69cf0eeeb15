"""The ``fm broker-config`` arguments (the command itself lives with the others in fm.cli)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from fm.broker_config.files import CREDENTIALS_FILE, IMAGE_DATA_DIR, BrokerFiles, BrokerLayout
from fm.broker_config.mosquitto import BrokerLimits

MIN_PORT = 1
MAX_PORT = 65_535


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    handler: Callable[[argparse.Namespace], None],
    *,
    limits: BrokerLimits,
) -> None:
    """Register ``broker-config`` on the ``fm`` sub-command table."""
    parser = commands.add_parser(
        "broker-config",
        help="Mosquitto config, password file, ACL and credentials.csv from the site file",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--site", type=Path, default=None, metavar="FILE", help="site file (default FM_SITE_FILE)"
    )
    parser.add_argument(
        "--port", type=_port, default=limits.port, help=f"listener port (default {limits.port})"
    )
    parser.add_argument(
        "--broker-dir",
        type=PurePosixPath,
        default=None,
        metavar="PATH",
        help="DIR as the broker sees it, e.g. /mosquitto/config in a container (default DIR)",
    )
    parser.add_argument(
        "--persistence-dir",
        default=IMAGE_DATA_DIR,
        metavar="PATH",
        help=f"where Mosquitto saves its state (default {IMAGE_DATA_DIR}, the image's volume)",
    )
    parser.set_defaults(func=handler)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not MIN_PORT <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"expected a TCP port {MIN_PORT}-{MAX_PORT}, got {value!r}"
        )
    return port


def layout_of(args: argparse.Namespace, limits: BrokerLimits) -> BrokerLayout:
    """The layout the arguments ask for."""
    return BrokerLayout(
        broker_dir=args.broker_dir,
        persistence_dir=args.persistence_dir,
        limits=replace(limits, port=args.port),
    )


def summary(files: BrokerFiles) -> str:
    """What a run wrote, for the operator."""
    plan = files.plan
    return (
        f"{files.directory}: {len(plan.accounts)} broker accounts "
        f"({len(plan.added)} new, {len(plan.kept)} kept, {len(plan.removed)} removed); "
        f"start Mosquitto with {files.conf}; hand out {CREDENTIALS_FILE} (owner-only) "
        "to devices and services (docs/broker.md)"
    )
