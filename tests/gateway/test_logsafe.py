"""Client text in logs: escaped control characters, bounded length, no forged lines."""

from __future__ import annotations

import json
import logging

import pytest

from core.settings import Settings
from gateway.logsafe import EXCERPT_MAX_CHARS, printable
from gateway.service import Gateway
from tests.gateway.fakes import ListSink, MemoryStore
from tests.gateway.sites import LIGHT, small_site


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("fm/light-1/telemetry", "fm/light-1/telemetry"),
        ("a\nb\r\nc", "a\\x0ab\\x0d\\x0ac"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("tab\there\x00", "tab\\x09here\\x00"),
        ("del\x7f c1\x85", "del\\x7f c1\\x85"),
        ("line\u2028sep", "line\\u2028sep"),
        ("路灯 ok", "路灯 ok"),
    ],
)
def test_control_characters_are_escaped_and_text_is_kept(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_long_text_is_cut() -> None:
    shown = printable("x" * 10 * EXCERPT_MAX_CHARS)
    assert shown == "x" * EXCERPT_MAX_CHARS + "…"


def gateway() -> Gateway:
    return Gateway(settings=Settings(), site=small_site(), store=MemoryStore(), sink=ListSink())


async def test_a_topic_with_newlines_cannot_forge_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    forged = "fm/x\n2025-06-01 INFO gateway.service subscribed\n/telemetry"
    await gateway().handle(forged, b"{}")
    [record] = caplog.records
    assert "\n" not in record.getMessage()
    assert "\\x0a2025-06-01 INFO" in record.getMessage()


async def test_every_rejection_is_counted_though_only_some_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    under_test = gateway()
    bad = json.dumps({"metrics": {"lux": 1, "x\n": 2}}).encode()
    for _ in range(100):
        await under_test.handle(f"fm/{LIGHT}/telemetry", bad)
    assert under_test.stats.dropped_metrics == {("unknown_metric", "(unknown)"): 100}
    assert under_test.stats.metrics_accepted == 100
    # The 1st, 2nd, 4th … 64th: seven lines for a hundred drops, none with a raw newline.
    assert len(caplog.records) == 7
    assert all("\n" not in r.getMessage() for r in caplog.records)
