"""Uptime of hand-built interval sets, and a property check against per-second sampling."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.model import Site
from reports.reading import EpisodeRow, MaintenanceWindow
from reports.uptime import Window, compute, with_codes
from tests.api.conftest import build_site

SITE = build_site()
LIGHT = SITE.devices["light-1"]  # building b-sun-1, grid sun-1
PIPE = SITE.devices["pipe-1"]  # same building
WINDOW = Window(100.0, 200.0)


def _episode(device: str, code: str, start: float, end: float | None) -> EpisodeRow:
    """An episode as the sweep reads it (the code is read later, for listed outages only)."""
    return (device, start, end)


def test_overlapping_faults_count_once_and_keep_both_codes() -> None:
    rows = [_episode("light-1", "offline", 110, 130), _episode("light-1", "lamp", 120, 140)]
    figures, totals = compute(SITE, [LIGHT], rows, WINDOW)
    assert figures["light-1"].down_s == 30
    assert totals.availability == 0.7
    coded = [
        ("light-1", "offline", 110.0, 130.0),
        ("light-1", "lamp", 120.0, 140.0),
        ("light-1", "stuck", 140.0, 150.0),  # touches the end: merged into it
        ("light-1", "old", 50.0, 100.0),  # ended before: another outage
        ("pipe-1", "burst", 110.0, 120.0),  # another device
    ]
    rows_with_touch = [*rows, _episode("light-1", "stuck", 140, 150)]
    figures, _ = compute(SITE, [LIGHT], rows_with_touch, WINDOW)
    outages = with_codes(figures["light-1"].outages(), coded)
    assert [(o.codes, o.start, o.end) for o in outages] == [
        (("lamp", "offline", "stuck"), 110, 150)
    ]


def test_faults_spanning_the_edges_are_clipped_and_open_ones_run_to_the_end() -> None:
    rows = [_episode("light-1", "lamp", 50, 105), _episode("light-1", "offline", 190, None)]
    figures, _ = compute(SITE, [LIGHT], rows, WINDOW)
    assert figures["light-1"].down_s == 5 + 10
    # Only the outage that began inside the window is a failure (for MTBF).
    assert figures["light-1"].failures == 1


def test_maintenance_of_the_building_is_not_down_time() -> None:
    rows = [_episode("light-1", "lamp", 110, 150)]
    silence = MaintenanceWindow("building", "b-sun-1", 120, 170)
    other_grid = MaintenanceWindow("grid", "steel-1", 100, 200)
    figures, totals = compute(SITE, [LIGHT], rows, WINDOW, [silence, other_grid])
    assert figures["light-1"].down_s == 10
    assert figures["light-1"].maintenance_s == 50
    assert totals.maintenance_s == 50


def test_a_device_added_mid_window_counts_from_when_it_joined() -> None:
    joined = datetime.fromtimestamp(150, UTC)
    late = dataclasses.replace(PIPE, installed_at=joined)
    rows = [_episode("pipe-1", "burst", 100, 160)]
    figures, totals = compute(SITE, [LIGHT, late], rows, WINDOW)
    assert figures["pipe-1"].monitored_s == 50 and figures["pipe-1"].down_s == 10
    # Roll-up is device-time weighted: 10 down of 100 + 50 monitored seconds.
    assert totals.monitored_s == 150 and totals.down_s == 10
    assert totals.availability == 1 - 10 / 150


def test_a_device_installed_after_the_window_is_not_monitored() -> None:
    late = dataclasses.replace(PIPE, installed_at=datetime.fromtimestamp(500, UTC))
    _, totals = compute(SITE, [late], [_episode("pipe-1", "burst", 100, 160)], WINDOW)
    assert totals.monitored_s == 0 and totals.availability is None


def test_buckets_split_down_and_monitored_time() -> None:
    late = dataclasses.replace(PIPE, installed_at=datetime.fromtimestamp(160, UTC))
    rows = [_episode("light-1", "lamp", 140, 170)]
    _, totals = compute(SITE, [LIGHT, late], rows, WINDOW, bucket_edges=[100, 150, 200])
    assert totals.bucket_down_s == [10, 20]
    assert totals.bucket_monitored_s == [50, 50 + 40]


def test_episodes_of_devices_outside_the_scope_are_ignored() -> None:
    rows = [_episode("light-2", "lamp", 100, 200), _episode("pipe-1", "burst", 100, 110)]
    _, totals = compute(SITE, [PIPE], rows, WINDOW)
    assert totals.down_s == 10 and totals.devices == 1


# Property: the sweep agrees with sampling every second ---------------------------------------

seconds = st.integers(0, 300)
episode_sets = st.lists(
    st.tuples(
        st.sampled_from(["light-1", "pipe-1"]),
        st.sampled_from(["a", "b"]),
        seconds,
        st.one_of(st.none(), st.integers(1, 80)),
    ),
    max_size=10,
)
silences = st.lists(
    st.tuples(
        st.sampled_from([("device", "light-1"), ("building", "b-sun-1"), ("grid", "sun-2")]),
        seconds,
        st.integers(1, 80),
    ),
    max_size=3,
)


def _brute_force(
    site: Site,
    rows: list[EpisodeRow],
    windows: list[MaintenanceWindow],
    low: int,
    high: int,
    installed: dict[str, int],
) -> tuple[int, int, int]:
    monitored = down = maintenance = 0
    for device in ("light-1", "pipe-1"):
        building = site.devices[device].building_id
        covers = {
            ("device", device),
            ("building", building),
            ("grid", site.buildings[building].grid_id),
        }
        for t in range(max(low, installed.get(device, low)), high):
            monitored += 1
            planned = any((w.kind, w.scope_id) in covers and w.start <= t < w.end for w in windows)
            maintenance += planned
            faulty = any(r[0] == device and r[1] <= t and (r[2] is None or t < r[2]) for r in rows)
            down += faulty and not planned
    return monitored, down, maintenance


@settings(max_examples=200, deadline=None)
@given(episode_sets, silences, st.integers(0, 150), st.integers(1, 150), st.integers(0, 300))
def test_sweep_matches_sampling_every_second(
    raw: list[tuple[str, str, int, int | None]],
    raw_silences: list[tuple[tuple[str, str], int, int]],
    low: int,
    length: int,
    pipe_joined: int,
) -> None:
    rows: list[EpisodeRow] = sorted(
        (
            (device, float(start), None if span is None else float(start + span))
            for device, _code, start, span in raw
        ),
        key=lambda row: (row[0], row[1]),
    )
    windows = [
        MaintenanceWindow(kind, sid, float(s), float(s + n)) for (kind, sid), s, n in raw_silences
    ]
    pipe = dataclasses.replace(PIPE, installed_at=datetime.fromtimestamp(pipe_joined, UTC))
    high = low + length
    _, totals = compute(SITE, [LIGHT, pipe], rows, Window(low, high), windows)
    expected = _brute_force(SITE, rows, windows, low, high, {"pipe-1": pipe_joined})
    assert (totals.monitored_s, totals.down_s, totals.maintenance_s) == expected
