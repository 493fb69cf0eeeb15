"""Run-time settings from the environment (prefix ``FM_``), one object for the whole process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values people paste from examples; a real deployment must not run with them.
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "admin", "token", "xxx"}
)

BUNDLED_SITE = Path(__file__).resolve().parent.parent / "governance" / "sites" / "xincheng.yaml"

PositiveSeconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """Everything a process of facility monitor reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FM_", extra="ignore", frozen=True)

    mqtt_url: str | None = None
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_prefix: str = Field(default="fm", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    mqtt_client_id: str = Field(default="fm-gateway", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # `fm gateway --partition i/N` (gateway/partition.py): this gateway takes the i-th of N fixed
    # shares of the devices; each share's gateway runs with its own client id and spool.
    gateway_partition: str = Field(default="1/1", pattern=r"^[1-9][0-9]{0,5}/[1-9][0-9]{0,5}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    # Where people open the web interface: links in notifications (the crew view) start here.
    public_url: str | None = None
    data_dir: Path = Path("./var")
    database_url: str | None = None
    tsdb_url: str | None = None
    site_file: Path = BUNDLED_SITE
    admin_token: SecretStr | None = None
    simulate: bool = True
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    # Boundary limits of the MQTT contract.
    max_payload_bytes: int = Field(default=16_384, ge=64)
    max_clock_skew_s: PositiveSeconds = 300.0
    max_backdate_s: PositiveSeconds = 86_400.0

    # Time-series write batching.
    tsdb_batch_size: int = Field(default=5_000, ge=1)
    tsdb_flush_interval_s: PositiveSeconds = 0.5
    tsdb_queue_max: int = Field(default=200_000, ge=1)
    # While QoS 1 messages wait for their acknowledgement (sent once their points are written),
    # the next batch goes out after this instead of the flush interval.
    tsdb_ack_flush_interval_s: PositiveSeconds = 0.02

    # Time-series layout and retention (storage/tsdb/options.py holds the same defaults).
    # The embedded store partitions raw points into chunks of this many hours.
    tsdb_chunk_hours: int = Field(default=24, ge=1, le=24 * 366)
    # Raw points are kept this long, per-minute and per-hour rollups longer (both stores).
    tsdb_retention_days: int = Field(default=30, ge=1)
    tsdb_rollup_minute_days: int = Field(default=90, ge=1)
    tsdb_rollup_hour_days: int = Field(default=730, ge=1)
    # The embedded store folds new points into its rollups this often, or after so many points.
    tsdb_rollup_interval_s: PositiveSeconds = 5.0
    tsdb_rollup_max_points: int = Field(default=250_000, ge=1)
    # Page cache of the embedded store's writer: the chunk being written stays in memory.
    tsdb_sqlite_cache_mb: int = Field(default=64, ge=1)

    # Supervision of long-running loops.
    reconnect_initial_s: PositiveSeconds = 0.5
    reconnect_max_s: PositiveSeconds = 30.0
    liveness_sweep_interval_s: PositiveSeconds = 1.0

    # HTTP API: how long /readyz waits for each store or probe before calling it failed, and
    # the largest request body read (larger ones get 413 before anything parses them).
    readiness_timeout_s: PositiveSeconds = 2.0
    http_max_body_bytes: int = Field(default=1_048_576, ge=1_024)

    # Simulator cadence (for `fm simulate` / `fm demo`).
    simulate_interval_s: PositiveSeconds = 10.0

    # Metrics listener of `fm gateway` (fm/metrics_listener.py, docs/metrics.md): it serves
    # GET /metrics on this address; port 0 turns it off. The API serves /metrics on its own port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # A scrape waits this long for the relational gauges (open orders, outbox) before it answers
    # without them, so a slow database never makes the gateway's own counters time out.
    metrics_store_timeout_s: PositiveSeconds = 2.0

    @field_validator("admin_token")
    @classmethod
    def _reject_placeholder_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if token.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "FM_ADMIN_TOKEN is a placeholder; set a random value (e.g. `openssl rand -hex 32`)"
            )
        if len(token) < 16:
            raise ValueError("FM_ADMIN_TOKEN must be at least 16 characters long")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError("FM_MQTT_URL must look like mqtt://user:pass@host:port")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError(f"FM_MQTT_URL has a bad port: {exc}") from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("FM_PUBLIC_URL must look like https://fm.example.org[/path]")
        if parts.query or parts.fragment or any(c in value for c in "()<> "):
            # It becomes the start of markdown links in robot messages: keep it plain.
            raise ValueError("FM_PUBLIC_URL must have no query, fragment, spaces, () or <>")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite+aiosqlite", "postgresql+psycopg", "postgresql"}:
            raise ValueError(
                "FM_DATABASE_URL must be sqlite+aiosqlite:///path or postgresql+psycopg://user:pass@host/db"
            )
        return value

    @field_validator("tsdb_url")
    @classmethod
    def _check_tsdb_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"sqlite", "influxdb", "influxdbs"}:
            raise ValueError(
                "FM_TSDB_URL must be sqlite:///path or influxdb://host:8086/<database>"
            )
        return value

    @model_validator(mode="after")
    def _check_site_file(self) -> Settings:
        if not self.site_file.is_file():
            raise ValueError(f"FM_SITE_FILE {self.site_file} does not exist or is not a file")
        return self

    # Derived locations -------------------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        """The relational store: FM_DATABASE_URL or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'fm.sqlite3').resolve()}"

    @property
    def effective_tsdb_url(self) -> str:
        """The time-series store: FM_TSDB_URL or a SQLite file in the data directory."""
        if self.tsdb_url:
            return self.tsdb_url
        return f"sqlite:///{(self.data_dir / 'telemetry.sqlite3').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """The web interface's address for people: FM_PUBLIC_URL or this machine's API port."""
        if self.public_url:
            return self.public_url
        return f"http://localhost:{self.http_port}"

    # Notifications: outbox relay and live stream (alerts/notifications/relay.py, api/stream).
    outbox_poll_interval_s: PositiveSeconds = 0.2
    outbox_batch_size: int = Field(default=50, ge=1, le=1_000)
    outbox_lease_s: PositiveSeconds = 60.0
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_backoff_initial_s: PositiveSeconds = 2.0
    outbox_backoff_max_s: PositiveSeconds = 600.0
    outbox_http_timeout_s: PositiveSeconds = 10.0
    stream_heartbeat_s: PositiveSeconds = 15.0
    stream_queue_max: int = Field(default=256, ge=1)
    stream_replay_max: int = Field(default=500, ge=1)
    stream_gap_grace_s: PositiveSeconds = 10.0

    # SLA and escalation (alerts/sweeper.py): how often and how much the escalation sweep does.
    escalation_sweep_interval_s: PositiveSeconds = 15.0
    escalation_batch_size: int = Field(default=200, ge=1, le=10_000)

    # Detection (gateway/state.py, gateway/ordering.py).
    gateway_checkpoint_interval_s: PositiveSeconds = 5.0
    reorder_window_s: float = Field(default=0.0, ge=0.0)
    # Root-cause grouping (alerts/orders/grouping.py, docs/detection.md): how long the page of an
    # offline / no_power episode waits, when a group (building, circuit, edge) is one incident,
    # when many buildings are one community incident and many communities one street incident,
    # and how often the held pages are decided.
    group_wait_s: PositiveSeconds = 60.0
    group_min_share: float = Field(default=0.6, gt=0.0, le=1.0)
    group_min_devices: int = Field(default=4, ge=2)
    group_community_min_buildings: int = Field(default=3, ge=2)
    group_street_min_communities: int = Field(default=2, ge=2)
    group_decide_interval_s: PositiveSeconds = 1.0

    # Alerts intake (alerts/intake.py): the bounded queue between the gateway's loop and the
    # alerts transactions, the group-commit batch size, and how a store outage is retried.
    alerts_queue_max: int = Field(default=10_000, ge=1)
    alerts_batch_max: int = Field(default=500, ge=1, le=10_000)
    alerts_retry_initial_s: PositiveSeconds = 0.05
    alerts_retry_max_s: PositiveSeconds = 1.0
    alerts_drain_timeout_s: PositiveSeconds = 10.0
    # Where the gateway's events go (docs/reliability.md): "inline" handles them in the gateway's
    # own process; "inbox" commits them to the relational store's inbox for `fm alerts`, a
    # separate process, which looks for new ones every alerts_inbox_poll_s while it is idle.
    alerts_handoff: Literal["inline", "inbox"] = "inline"
    alerts_inbox_poll_s: PositiveSeconds = 0.01

    # Work-order lifecycle (alerts/service.py): a fault recurring this long after its order was
    # closed reopens that order instead of opening a new one; 0 never reopens a closed order.
    reopen_window_s: float = Field(default=86_400.0, ge=0.0)

    # Gateway intake (gateway/ordering.py, gateway/writer.py; docs/mqtt-contract.md).
    # A seq this far below the last one is a restart, not a reordering; a jump further than
    # seq_max_jump starts a new sequence too, so no single seq can make later readings stale.
    seq_reorder_tolerance: int = Field(default=100, ge=0)
    seq_max_jump: int = Field(default=1_000_000, ge=1)
    # Store writes: the retry backoff grows from reconnect_initial_s up to tsdb_retry_max_s; while
    # the store does not answer, it is pinged every tsdb_probe_interval_s and writing resumes as
    # soon as it does. A shutdown keeps trying a failing store for tsdb_shutdown_grace_s at most.
    tsdb_retry_max_s: PositiveSeconds = 5.0
    tsdb_probe_interval_s: PositiveSeconds = 0.5
    tsdb_shutdown_grace_s: PositiveSeconds = 5.0

    # Telemetry history (api/devices/telemetry.py, docs/http-api.md): a series is answered in at
    # most this many buckets whatever the window (the bucket widens to fit), and one request
    # spans at most this long (two years: a manager's longest chart).
    telemetry_max_points: int = Field(default=300, ge=2, le=10_000)
    telemetry_max_window_s: PositiveSeconds = 2 * 366 * 86_400.0

    # Robot channels (WeCom, DingTalk group robots): each robot accepts about 20 messages a
    # minute, and DingTalk blocks a robot for 10 minutes beyond that (notifications/pacing.py).
    robot_max_per_window: int = Field(default=20, ge=1)
    robot_window_s: PositiveSeconds = 60.0
    robot_throttle_backoff_s: PositiveSeconds = 600.0
