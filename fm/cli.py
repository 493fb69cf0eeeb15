"""The `fm` command: demo, gateway, alerts, api, simulate, db upgrade/downgrade, tsdb migrate,
site check."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fm.admin_commands import (
    cmd_broker_config,
    cmd_db_downgrade,
    cmd_db_upgrade,
    cmd_site_check,
)
from fm.broker_config import command as broker_config
from fm.broker_config.files import DEFAULT_LIMITS
from fm.cli_support import WITHOUT_SECRETS, ConfigError, load_settings, load_site_or_fail
from fm.errors import StartupError
from fm.tsdb_cli import add_tsdb_commands
from sensors.street_life import BUNDLED_LIFE

log = logging.getLogger("fm")

EXIT_CONFIG = 2
EXIT_STARTUP = 3
#: Libraries whose INFO lines drown out the service's own.
#: httpx logs every request URL at INFO, and a robot's URL carries its key: never below WARNING.
QUIET_LOGGERS = ("alembic", "amqtt", "transitions", "sensors.client", "httpx", "httpcore")


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` on a fresh loop; SIGINT/SIGTERM set ``stop`` for a clean shutdown."""

    # Everything loaded so far (code, the site) lives for the whole process: moved out of the
    # collector's reach, it is not scanned again by every full collection, which would otherwise
    # stall the event loop the gateway and alerts share (tens of ms under a fault storm).
    gc.freeze()

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await main(stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    asyncio.run(runner())


# Commands ------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    """Everything in one process on the embedded defaults."""
    from fm.demo import run_demo

    settings = load_settings()
    site = load_site_or_fail(settings.site_file)
    if args.history_days < 0:
        raise ConfigError(f"--history-days must not be negative, not {args.history_days}")
    life = None if args.calm else args.street_life
    run_until_signalled(
        lambda stop: run_demo(
            settings, site=site, stop=stop, history_days=args.history_days, street_life=life
        )
    )


def cmd_gateway(args: argparse.Namespace) -> None:
    """MQTT ingestion with alerts wired in, against external broker and stores."""
    from fm.runner import open_stores, run_ingestion
    from gateway.partition import Partition, PartitionError

    overrides = {} if args.partition is None else {"gateway_partition": args.partition}
    settings = load_settings(**overrides)
    try:
        partition = Partition.parse(settings.gateway_partition)
    except PartitionError as exc:
        raise ConfigError(str(exc)) from exc
    site = load_site_or_fail(settings.site_file)

    async def main(stop: asyncio.Event) -> None:
        async with open_stores(settings, migrate=args.migrate, site=site) as stores:
            await run_ingestion(
                settings=settings, site=site, stores=stores, stop=stop, partition=partition
            )

    run_until_signalled(main)


def cmd_alerts(args: argparse.Namespace) -> None:
    """Alerts as their own process: the events gateways commit to the inbox
    (``FM_ALERTS_HANDOFF=inbox``), notifications, escalation and grouping."""
    from fm.runner import open_stores, run_alerts

    settings = load_settings()
    site = load_site_or_fail(settings.site_file)

    async def main(stop: asyncio.Event) -> None:
        async with open_stores(settings, migrate=args.migrate) as stores:
            await run_alerts(settings=settings, site=site, stores=stores, stop=stop)

    run_until_signalled(main)


def cmd_api(args: argparse.Namespace) -> None:
    """The HTTP API and dashboard."""
    from fm.runner import open_stores, serve_api

    settings = load_settings()
    if settings.admin_token is None:
        raise ConfigError(
            "FM_ADMIN_TOKEN is not set; `fm api` needs a bearer token for administrators"
        )
    site = load_site_or_fail(settings.site_file)

    async def main(stop: asyncio.Event) -> None:
        async with open_stores(settings, migrate=args.migrate) as stores:
            await serve_api(settings=settings, site=site, stores=stores, stop=stop)

    run_until_signalled(main)


def cmd_simulate(args: argparse.Namespace) -> None:
    """A simulated fleet for the site, against FM_MQTT_URL (or the local demo broker)."""
    from fm.simulation import RemoteFleetError, run_simulation, send_fault
    from sensors.behaviour import SimulationError

    settings = load_settings()
    if args.simulate_command is not None:
        # inject / recover: the running demo's own fleet does it, so no second fleet fights it.
        try:
            answer = send_fault(
                settings,
                device_id=args.device,
                code=args.code,
                action=args.simulate_command,
                url=args.url,
            )
        except RemoteFleetError as exc:
            raise ConfigError(str(exc)) from exc
        print(f"{answer['action']}: {answer['device_id']} {answer['code'] or '(every fault)'}")
        return
    site = load_site_or_fail(settings.site_file)
    try:
        run_until_signalled(
            lambda stop: run_simulation(
                settings=settings,
                site=site,
                stop=stop,
                faults=args.fault,
                scenario=args.scenario,
                limit=args.devices,
                seed=args.seed,
            )
        )
    except (SimulationError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


def _fault_arg(value: str) -> tuple[str, str]:
    device_id, sep, code = value.partition(":")
    if not sep or not device_id or not code:
        raise argparse.ArgumentTypeError(f"expected DEVICE:CODE, got {value!r}")
    return device_id, code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `fm`."""
    parser = argparse.ArgumentParser(prog="fm", description=__doc__)
    parser.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING (default FM_LOG_LEVEL)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run everything in one process")
    demo.add_argument(
        "--history-days",
        type=float,
        default=0,
        metavar="N",
        help="seed N days of history before starting (once per data directory; default 0)",
    )
    demo.add_argument(
        "--street-life",
        type=Path,
        default=BUNDLED_LIFE,
        metavar="FILE",
        help="fault rates and crews of the simulated street (default the bundled profile)",
    )
    demo.add_argument(
        "--calm", action="store_true", help="no faults by themselves, no simulated crews"
    )
    demo.set_defaults(func=cmd_demo)

    gateway = commands.add_parser(
        "gateway", help="MQTT ingestion (+ alerts unless FM_ALERTS_HANDOFF=inbox)"
    )
    gateway.add_argument("--migrate", action="store_true", help="apply migrations first")
    gateway.add_argument(
        "--partition",
        metavar="I/N",
        help="take the I-th of N fixed shares of the devices (default FM_GATEWAY_PARTITION, 1/1)",
    )
    gateway.set_defaults(func=cmd_gateway)

    alerts = commands.add_parser(
        "alerts", help="work orders from the gateways' inbox, notifications, escalation"
    )
    alerts.add_argument("--migrate", action="store_true", help="apply migrations first")
    alerts.set_defaults(func=cmd_alerts)

    api = commands.add_parser("api", help="HTTP API and dashboard")
    api.add_argument("--migrate", action="store_true", help="apply migrations first")
    api.set_defaults(func=cmd_api)

    simulate = commands.add_parser("simulate", help="simulated fleet with fault injection")
    simulate.add_argument(
        "--fault",
        action="append",
        type=_fault_arg,
        default=[],
        metavar="DEVICE:CODE",
        help="inject a fault at start (repeatable), e.g. ssc-g01-b1-light-1:short_circuit",
    )
    simulate.add_argument("--scenario", type=Path, help="scripted scenario file (YAML)")
    simulate.add_argument(
        "--devices", type=int, default=None, help="simulate only the first N devices"
    )
    simulate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    simulate.set_defaults(func=cmd_simulate)
    remote = simulate.add_subparsers(dest="simulate_command", metavar="ACTION")
    inject = remote.add_parser("inject", help="inject a fault into the running demo's fleet")
    inject.add_argument("device")
    inject.add_argument("code")
    recover = remote.add_parser("recover", help="end a fault in the running demo's fleet")
    recover.add_argument("device")
    recover.add_argument("code", nargs="?", default=None, help="default: every fault")
    for action in (inject, recover):
        action.add_argument("--url", default=None, help="the demo's API (default FM_HTTP_PORT)")

    db = commands.add_parser("db", help="relational store")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations (never goes back)")
    upgrade.add_argument("revision", nargs="?", default="heads")
    upgrade.set_defaults(func=cmd_db_upgrade)
    downgrade = db_commands.add_parser(
        "downgrade", help="take the schema back to REVISION, dropping what newer ones added"
    )
    downgrade.add_argument("revision", help="e.g. 0007_merge (name it: merges make -1 ambiguous)")
    downgrade.set_defaults(func=cmd_db_downgrade)

    broker_config.add_parser(commands, cmd_broker_config, limits=DEFAULT_LIMITS)
    add_tsdb_commands(commands)

    site = commands.add_parser("site", help="site file")
    site_commands = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    check = site_commands.add_parser("check", help="validate a site file")
    check.add_argument("file", nargs="?", type=Path, default=None)
    check.set_defaults(func=cmd_site_check)
    return parser


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; chatty libraries (and httpx's request URLs) at WARNING."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `fm` console script."""
    args = build_parser().parse_args(argv)
    try:
        level = args.log_level or load_settings(**WITHOUT_SECRETS).log_level
    except ConfigError as exc:
        print(f"fm: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(level)
    try:
        args.func(args)
    except ConfigError as exc:
        print(f"fm: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (StartupError, BaseExceptionGroup) as exc:
        failures = _startup_errors(exc)
        if not failures:
            raise
        for failure in failures:
            print(f"fm: {failure}", file=sys.stderr)
        return EXIT_STARTUP
    return 0


def _startup_errors(exc: BaseException) -> list[StartupError]:
    """The StartupErrors in ``exc`` (possibly nested in task-group exception groups)."""
    if isinstance(exc, StartupError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [found for inner in exc.exceptions for found in _startup_errors(inner)]
    return []


if __name__ == "__main__":
    sys.exit(main())
