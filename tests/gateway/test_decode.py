"""The MQTT contract boundary: every bad input is rejected with the reason that names it."""

from __future__ import annotations

import json

import pytest

from core.settings import Settings
from gateway.decode import (
    UNKNOWN_METRIC_LABEL,
    Decoder,
    DeviceReport,
    MetricDrop,
    MetricReason,
    Reading,
    Rejection,
    RejectReason,
    StatusReport,
)
from sensors.profiles import PROFILES
from tests.gateway.sites import LIGHT, SHED, small_site

NOW = 1_700_000_000.0
SETTINGS = Settings()
TELEMETRY = f"fm/{LIGHT}/telemetry"
EVENT = f"fm/{LIGHT}/event"
STATUS = f"fm/{LIGHT}/status"


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder.from_settings(SETTINGS, small_site())


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def rejected(result: object) -> Rejection:
    assert isinstance(result, Rejection), result
    return result


def test_valid_telemetry_with_epoch_ts_and_seq(decoder: Decoder) -> None:
    payload = body({"ts": NOW - 5, "seq": 7, "metrics": {"lamp_on": True, "current_a": 2}})
    reading = decoder.decode(TELEMETRY, payload, NOW)
    assert reading == Reading(LIGHT, NOW - 5, 7, {"lamp_on": True, "current_a": 2})


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2023-11-14T22:13:10Z", NOW - 10),
        ("2023-11-15T06:13:10+08:00", NOW - 10),
        ("2023-11-14T22:13:19.500+00:00", NOW - 0.5),
    ],
)
def test_rfc3339_timestamps_with_a_zone_are_accepted(
    decoder: Decoder, ts: str, expected: float
) -> None:
    reading = decoder.decode(TELEMETRY, body({"ts": ts, "metrics": {"lux": 3.5}}), NOW)
    assert isinstance(reading, Reading)
    assert reading.ts == pytest.approx(expected)


def test_missing_ts_means_receive_time(decoder: Decoder) -> None:
    reading = decoder.decode(TELEMETRY, body({"metrics": {"voltage_v": 220.5}}), NOW)
    assert isinstance(reading, Reading)
    assert (reading.ts, reading.seq) == (NOW, None)


VOLTAGE = PROFILES["corridor_light"].metrics["voltage_v"]


def test_range_bounds_are_inclusive(decoder: Decoder) -> None:
    payload = body({"metrics": {"current_a": 0, "voltage_v": VOLTAGE.maximum}})
    reading = decoder.decode(TELEMETRY, payload, NOW)
    assert isinstance(reading, Reading)
    assert reading.dropped == ()


def test_payload_at_the_size_limit_is_parsed(decoder: Decoder) -> None:
    payload = body({"metrics": {"lux": 1}})
    payload += b" " * (SETTINGS.max_payload_bytes - len(payload))
    assert isinstance(decoder.decode(TELEMETRY, payload, NOW), Reading)


def test_event_and_status(decoder: Decoder) -> None:
    payload = body({"code": "lamp_failure", "active": True, "detail": "bulb"})
    assert decoder.decode(EVENT, payload, NOW) == DeviceReport(
        LIGHT, NOW, "lamp_failure", True, "bulb"
    )
    assert decoder.decode(STATUS, b"offline", NOW) == StatusReport(LIGHT, NOW, False)
    assert decoder.decode(STATUS, b"online", NOW) == StatusReport(LIGHT, NOW, True)


@pytest.mark.parametrize(
    "topic",
    [
        "fm/light-1",
        "other/light-1/telemetry",
        "fm/light-1/metrics",
        "fm/light-1/telemetry/extra",
        "fm/bad id!/telemetry",
        "fm//telemetry",
        "fm/" + "x" * 65 + "/telemetry",
    ],
)
def test_bad_topics(decoder: Decoder, topic: str) -> None:
    result = rejected(decoder.decode(topic, body({"metrics": {"lux": 1}}), NOW))
    assert result.reason is RejectReason.BAD_TOPIC


def test_unknown_device(decoder: Decoder) -> None:
    result = rejected(decoder.decode("fm/ghost-9/telemetry", body({"metrics": {"lux": 1}}), NOW))
    assert (result.reason, result.device_id) == (RejectReason.UNKNOWN_DEVICE, "ghost-9")


@pytest.mark.parametrize("topic", [TELEMETRY, EVENT, STATUS])
def test_oversized_is_refused_before_parsing(decoder: Decoder, topic: str) -> None:
    # Invalid JSON beyond the limit: the size check must come first.
    payload = b"{" * (SETTINGS.max_payload_bytes + 1)
    result = rejected(decoder.decode(topic, payload, NOW))
    assert (result.reason, result.device_id) == (RejectReason.OVERSIZED, LIGHT)


CASES: list[tuple[str, bytes, RejectReason]] = [
    # (name, payload, reason) for the telemetry topic
    ("not json", b"{not json", RejectReason.BAD_JSON),
    ("empty", b"", RejectReason.BAD_JSON),
    ("not utf-8", b'{"metrics": {"lux": "\xff"}}', RejectReason.BAD_JSON),
    ("deep nesting", b"[" * 10_000, RejectReason.BAD_JSON),
    ("array", body([1, 2]), RejectReason.BAD_SCHEMA),
    ("no metrics", body({"ts": NOW}), RejectReason.BAD_SCHEMA),
    ("empty metrics", body({"metrics": {}}), RejectReason.BAD_SCHEMA),
    ("metrics list", body({"metrics": [1]}), RejectReason.BAD_SCHEMA),
    ("seq string", body({"seq": "1", "metrics": {"lux": 1}}), RejectReason.BAD_SCHEMA),
    ("seq bool", body({"seq": True, "metrics": {"lux": 1}}), RejectReason.BAD_SCHEMA),
    ("seq negative", body({"seq": -1, "metrics": {"lux": 1}}), RejectReason.BAD_SCHEMA),
    ("ts bool", body({"ts": True, "metrics": {"lux": 1}}), RejectReason.BAD_SCHEMA),
    ("ts list", body({"ts": [NOW], "metrics": {"lux": 1}}), RejectReason.BAD_SCHEMA),
    ("NaN ts", b'{"ts": NaN, "metrics": {"lux": 1}}', RejectReason.NON_FINITE),
    ("NaN seq", b'{"seq": NaN, "metrics": {"lux": 1}}', RejectReason.BAD_SCHEMA),
    ("ts words", body({"ts": "yesterday", "metrics": {"lux": 1}}), RejectReason.BAD_TIMESTAMP),
    (
        "ts without zone",
        body({"ts": "2023-11-14T22:13:10", "metrics": {"lux": 1}}),
        RejectReason.BAD_TIMESTAMP,
    ),
    (
        "ts too far ahead",
        body({"ts": NOW + SETTINGS.max_clock_skew_s + 1, "metrics": {"lux": 1}}),
        RejectReason.CLOCK_SKEW,
    ),
    (
        "ts too old",
        body({"ts": NOW - SETTINGS.max_backdate_s - 1, "metrics": {"lux": 1}}),
        RejectReason.CLOCK_SKEW,
    ),
    ("ts epoch 1", body({"ts": 1.0, "metrics": {"lux": 1}}), RejectReason.CLOCK_SKEW),
    (
        "rfc3339 too old",
        body({"ts": "2001-01-01T00:00:00Z", "metrics": {"lux": 1}}),
        RejectReason.CLOCK_SKEW,
    ),
]


@pytest.mark.parametrize(("payload", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_telemetry(decoder: Decoder, payload: bytes, reason: RejectReason) -> None:
    result = rejected(decoder.decode(TELEMETRY, payload, NOW))
    assert (result.reason, result.device_id) == (reason, LIGHT)
    assert result.detail


METRIC_CASES: list[tuple[str, bytes, MetricReason, str]] = [
    # (name, the bad metric as JSON text, reason, counted metric label)
    ("string number", b'"current_a": "12"', MetricReason.WRONG_TYPE, "current_a"),
    ("null number", b'"current_a": null', MetricReason.NULL, "current_a"),
    ("null bool", b'"lamp_on": null', MetricReason.NULL, "lamp_on"),
    ("bool for number", b'"current_a": true', MetricReason.WRONG_TYPE, "current_a"),
    ("number for bool", b'"lamp_on": 1', MetricReason.WRONG_TYPE, "lamp_on"),
    ("object for number", b'"current_a": {"v": 1}', MetricReason.WRONG_TYPE, "current_a"),
    ("unknown metric", b'"pressure_kpa": 1', MetricReason.UNKNOWN_METRIC, UNKNOWN_METRIC_LABEL),
    ("NaN", b'"current_a": NaN', MetricReason.NON_FINITE, "current_a"),
    ("Infinity", b'"current_a": Infinity', MetricReason.NON_FINITE, "current_a"),
    ("-Infinity", b'"current_a": -Infinity', MetricReason.NON_FINITE, "current_a"),
    ("overflow", b'"current_a": 1e999', MetricReason.NON_FINITE, "current_a"),
    ("below min", b'"current_a": -0.1', MetricReason.OUT_OF_RANGE, "current_a"),
    ("above max", b'"voltage_v": 1000.01', MetricReason.OUT_OF_RANGE, "voltage_v"),
    ("huge int", b'"voltage_v": ' + b"9" * 400, MetricReason.OUT_OF_RANGE, "voltage_v"),
]
METRIC_IDS = [c[0] for c in METRIC_CASES]


@pytest.mark.parametrize(
    ("field", "reason", "label"), [c[1:] for c in METRIC_CASES], ids=METRIC_IDS
)
def test_a_bad_metric_is_dropped_and_its_neighbours_kept(
    decoder: Decoder, field: bytes, reason: MetricReason, label: str
) -> None:
    payload = b'{"seq": 3, "metrics": {"lux": 12.5, ' + field + b"}}"
    reading = decoder.decode(TELEMETRY, payload, NOW)
    assert isinstance(reading, Reading), reading
    assert reading.metrics == {"lux": 12.5}
    assert [(d.reason, d.metric) for d in reading.dropped] == [(reason, label)]
    assert reading.dropped[0].detail


@pytest.mark.parametrize(
    ("field", "reason", "label"), [c[1:] for c in METRIC_CASES], ids=METRIC_IDS
)
def test_a_reading_without_a_valid_metric_is_rejected_with_each_metric_counted(
    decoder: Decoder, field: bytes, reason: MetricReason, label: str
) -> None:
    result = rejected(decoder.decode(TELEMETRY, b'{"metrics": {' + field + b"}}", NOW))
    assert (result.reason, result.device_id) == (RejectReason.NO_VALID_METRICS, LIGHT)
    assert [(d.reason, d.metric) for d in result.dropped] == [(reason, label)]


SMOKE_WITH_A_BAD_FIELD = [
    b'{"metrics": {"smoke": true, "temp_c": 35, "humidity": 40}}',
    b'{"metrics": {"smoke": true, "temp_c": 1300}}',
    b'{"metrics": {"smoke": true, "temp_c": NaN}}',
    b'{"metrics": {"smoke": true, "temp_c": null}}',
]


@pytest.mark.parametrize("payload", SMOKE_WITH_A_BAD_FIELD)
def test_smoke_survives_any_bad_neighbour(decoder: Decoder, payload: bytes) -> None:
    reading = decoder.decode(f"fm/{SHED}/telemetry", payload, NOW)
    assert isinstance(reading, Reading), reading
    assert reading.metrics["smoke"] is True
    assert len(reading.dropped) == 1


def test_a_fire_temperature_is_a_valid_reading(decoder: Decoder) -> None:
    payload = body({"metrics": {"smoke": True, "temp_c": 250}})
    reading = decoder.decode(f"fm/{SHED}/telemetry", payload, NOW)
    assert reading == Reading(SHED, NOW, None, {"smoke": True, "temp_c": 250})


def test_unknown_metric_names_are_never_counted_under_their_own_name(decoder: Decoder) -> None:
    payload = body({"metrics": {"lux": 1, "x\n\x1b[31m": 2, "y" * 500: 3}})
    reading = decoder.decode(TELEMETRY, payload, NOW)
    assert isinstance(reading, Reading)
    assert {d.metric for d in reading.dropped} == {UNKNOWN_METRIC_LABEL}
    assert all(isinstance(d, MetricDrop) and len(d.detail) < 200 for d in reading.dropped)


def test_timestamps_just_inside_the_limits_are_accepted(decoder: Decoder) -> None:
    ahead = NOW + SETTINGS.max_clock_skew_s
    behind = NOW - SETTINGS.max_backdate_s
    for ts in (ahead, behind):
        assert isinstance(
            decoder.decode(TELEMETRY, body({"ts": ts, "metrics": {"lux": 1}}), NOW), Reading
        )


EVENT_CASES: list[tuple[str, bytes, RejectReason]] = [
    (
        "code of another type",
        body({"code": "smoke", "active": True}),
        RejectReason.UNKNOWN_FAULT_CODE,
    ),
    ("made-up code", body({"code": "gremlins", "active": True}), RejectReason.UNKNOWN_FAULT_CODE),
    (
        "offline is liveness",
        body({"code": "offline", "active": True}),
        RejectReason.UNKNOWN_FAULT_CODE,
    ),
    ("code number", body({"code": 5, "active": True}), RejectReason.BAD_SCHEMA),
    ("active missing", body({"code": "no_power"}), RejectReason.BAD_SCHEMA),
    ("active string", body({"code": "no_power", "active": "yes"}), RejectReason.BAD_SCHEMA),
    ("active number", body({"code": "no_power", "active": 1}), RejectReason.BAD_SCHEMA),
    (
        "detail number",
        body({"code": "no_power", "active": True, "detail": 3}),
        RejectReason.BAD_SCHEMA,
    ),
    ("bad json", b"{", RejectReason.BAD_JSON),
    (
        "future ts",
        body({"code": "no_power", "active": True, "ts": NOW + SETTINGS.max_clock_skew_s + 1}),
        RejectReason.CLOCK_SKEW,
    ),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES]
)
def test_bad_events(decoder: Decoder, payload: bytes, reason: RejectReason) -> None:
    assert rejected(decoder.decode(EVENT, payload, NOW)).reason is reason


def test_event_codes_are_per_type(decoder: Decoder) -> None:
    payload = body({"code": "smoke", "active": True})
    assert isinstance(decoder.decode(f"fm/{SHED}/event", payload, NOW), DeviceReport)


@pytest.mark.parametrize("payload", [b"ONLINE", b"online\n", b"", b"maybe", b'"offline"'])
def test_bad_status(decoder: Decoder, payload: bytes) -> None:
    assert rejected(decoder.decode(STATUS, payload, NOW)).reason is RejectReason.BAD_STATUS


def test_prefix_comes_from_settings() -> None:
    decoder = Decoder.from_settings(Settings(mqtt_prefix="site7"), small_site())
    assert isinstance(decoder.decode(f"site7/{LIGHT}/status", b"online", NOW), StatusReport)
    result = rejected(decoder.decode(STATUS, b"online", NOW))
    assert result.reason is RejectReason.BAD_TOPIC
