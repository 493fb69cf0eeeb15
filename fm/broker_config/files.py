"""Write the broker directory: ``mosquitto.conf``, ``passwords``, ``acl``, ``credentials.csv``."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fm.broker_config.accounts import (
    AccountPlan,
    plan_accounts,
    read_credentials,
    render_credentials,
)
from fm.broker_config.mosquitto import (
    BrokerLimits,
    render_acl,
    render_conf,
    render_password_file,
)
from governance.model import Site

CONF_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwords"
ACL_FILE = "acl"
CREDENTIALS_FILE = "credentials.csv"
#: Secrets are readable by their owner only; the config and the ACL name no secret.
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644

#: Where the eclipse-mosquitto image keeps its state (a volume in docker-compose.yml).
IMAGE_DATA_DIR = "/mosquitto/data/"
#: MQTT's IANA port, on every interface: devices connect from the network.
DEFAULT_PORT = 1883
DEFAULT_BIND = "0.0.0.0"
# Why these limits (docs/reliability.md "Broker restart"): a packet well above the gateway's
# FM_MAX_PAYLOAD_BYTES so the gateway, not the broker, rejects and counts oversized payloads;
# acknowledgements wait for the stores, so the gateway keeps many QoS 1 messages in flight
# (Mosquitto's default of 20 would throttle ingestion); while a gateway is away, its session
# queues a burst of readings; state is saved every minute and at a clean stop.
DEFAULT_LIMITS = BrokerLimits(
    port=DEFAULT_PORT,
    bind=DEFAULT_BIND,
    max_packet_size=65_536,
    max_inflight_messages=1_000,
    max_queued_messages=100_000,
    autosave_interval_s=60,
)


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Where the broker sees the generated files, and how it listens."""

    #: The output directory as the broker process sees it (e.g. ``/mosquitto/config`` when the
    #: directory is mounted into a container); None means the output directory itself.
    broker_dir: PurePosixPath | None = None
    persistence_dir: str = IMAGE_DATA_DIR
    limits: BrokerLimits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """What one run wrote."""

    directory: Path
    plan: AccountPlan

    @property
    def conf(self) -> Path:
        """The ``mosquitto.conf`` to start the broker with."""
        return self.directory / CONF_FILE

    @property
    def credentials(self) -> Path:
        """``credentials.csv`` with every account's password."""
        return self.directory / CREDENTIALS_FILE


def write_broker_config(
    site: Site, out: Path, *, prefix: str, layout: BrokerLayout | None = None
) -> BrokerFiles:
    """Write the four files into ``out``, keeping the passwords of an earlier run there."""
    layout = layout or BrokerLayout()
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_accounts(site, read_credentials(out / CREDENTIALS_FILE))
    seen_by_broker = layout.broker_dir or PurePosixPath(out.resolve().as_posix())
    persistence = layout.persistence_dir.rstrip("/") + "/"  # Mosquitto joins it as a prefix
    conf = render_conf(
        limits=layout.limits,
        password_file=str(seen_by_broker / PASSWORD_FILE),
        acl_file=str(seen_by_broker / ACL_FILE),
        persistence_dir=persistence,
    )
    # Credentials first: should a later write fail, the next run still knows every password.
    _replace(out / CREDENTIALS_FILE, render_credentials(plan.accounts), SECRET_MODE)
    _replace(out / PASSWORD_FILE, render_password_file(plan.accounts), SECRET_MODE)
    _replace(out / ACL_FILE, render_acl(plan.accounts, prefix=prefix), PUBLIC_MODE)
    _replace(out / CONF_FILE, conf, PUBLIC_MODE)
    return BrokerFiles(directory=out, plan=plan)


def _replace(path: Path, text: str, mode: int) -> None:
    """Write ``path`` atomically with ``mode`` from the start (a secret is never world-readable)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
