"""docs/metrics.md lists exactly the metrics the processes expose; the gateway's port is checked at
start-up like the API's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alerts.escalation.sweeper import SweepStats
from alerts.handling import IntakeStats
from alerts.metrics.parts import (
    GroupingCollector,
    IntakeCollector,
    RelayCollector,
    SweeperCollector,
)
from alerts.metrics.stores import Snapshot, inbox_family, open_orders_families, outbox_family
from alerts.notifications.relay import RelayStats
from alerts.orders.held_pages import DecisionStats
from api.metrics.http import HttpMetrics
from fm.cli import EXIT_STARTUP
from fm.listening import listen
from gateway.metrics import GatewayCollector
from gateway.stats import GatewayStats
from tests.servers.ports import free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
#: Only on the gateway's listener, computed there per scrape (tests/fm/test_metrics_listener.py).
LISTENER_ONLY = {"fm_relational_store_up"}
STARTUP_S = 60.0


def exposed_families() -> dict[str, str]:
    """Name (``_total`` for counters, as queried) and type of every fm_* family exposed."""
    http = HttpMetrics()
    http.requests[("GET", "/healthz", "200")] += 1
    http.seconds[("GET", "/healthz")] += 1.0
    stats = GatewayStats()
    stats.reject("bad_json")
    stats.drop_metric("null", "temp_c")
    registry = CollectorRegistry(auto_describe=False)
    for collector in (
        GatewayCollector(stats),
        IntakeCollector(IntakeStats()),
        RelayCollector(RelayStats()),
        SweeperCollector(SweepStats()),
        GroupingCollector(DecisionStats()),
        Snapshot([*open_orders_families({}), outbox_family({}), inbox_family({})]),
        http,
    ):
        registry.register(collector)
    families = text_string_to_metric_families(generate_latest(registry).decode())
    return {
        (f"{family.name}_total" if family.type == "counter" else family.name): family.type
        for family in families
    }


def documented() -> dict[str, str]:
    """Name and type of every row of the tables in docs/metrics.md."""
    rows = re.findall(r"^\| `(fm_[a-z_]+)` \| ([a-z]+) \|", DOC.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_docs_list_every_exposed_metric_with_its_type_and_nothing_else() -> None:
    exposed = exposed_families()
    assert len(exposed) > len(LISTENER_ONLY)
    listed = {name: kind for name, kind in documented().items() if name not in LISTENER_ONLY}
    assert listed == exposed


def test_a_taken_metrics_port_stops_fm_gateway_with_a_startup_error(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FM_DATA_DIR": str(tmp_path),
        "FM_METRICS_PORT": str(port),
        # Nothing listens there: the port is checked before the gateway connects.
        "FM_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
    }
    for name in ("FM_DATABASE_URL", "FM_TSDB_URL", "FM_SITE_FILE"):
        env.pop(name, None)
    taken = listen("127.0.0.1", port, port_setting="FM_HTTP_PORT")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fm", "gateway", "--migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=STARTUP_S,
        )
    finally:
        taken.close()
    assert done.returncode == EXIT_STARTUP, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "FM_METRICS_PORT" in done.stderr
