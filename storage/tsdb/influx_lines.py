"""Line protocol for the InfluxDB layout users expect: one line per reading.

A reading (the gateway's consecutive points of one device at one instant) becomes one line in
the measurement of the device's facility type, tagged ``building_id``, ``community_id``,
``device_id`` and ``grid_id`` (keys sorted, as InfluxDB stores them), with every metric as a
float field. A device the site does not know goes to ``telemetry`` tagged by ``device_id`` only.
Escaped series keys and field names are computed once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.tsdb.options import SeriesTags, TagLookup
from storage.tsdb.port import Point

#: The measurement of devices without site tags (and of every point before this layout).
DEFAULT_MEASUREMENT = "telemetry"
DEVICE_TAG = "device_id"
PLACE_TAGS = ("building_id", "community_id", "grid_id")
#: Field keys InfluxDB refuses or that would collide with a tag.
RESERVED_METRICS = frozenset({"time", DEVICE_TAG, *PLACE_TAGS})
#: Escaped names are cached; the fleet bounds them, this bounds a caller that does not.
NAME_CACHE_LIMIT = 100_000


class EscapedNames(dict[str, str]):
    """``name -> encoded form``, computed (and validated) once per name."""

    __slots__ = ("_encode",)

    def __init__(self, encode: Callable[[str], str]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, name: str) -> str:
        if len(self) >= NAME_CACHE_LIMIT:
            self.clear()
        encoded = self[name] = self._encode(name)
        return encoded


def escape_key(name: str) -> str:
    """Line protocol escaping for tag values and field keys: comma, equals sign, space."""
    if not name or "\n" in name or name.endswith("\\"):
        raise ValueError(f"{name!r} cannot be a tag value or field key in line protocol")
    return name.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def escape_measurement(name: str) -> str:
    """Line protocol escaping for measurement names: comma and space."""
    if not name or "\n" in name or name.endswith("\\"):
        raise ValueError(f"{name!r} cannot be a measurement name in line protocol")
    return name.replace(",", r"\,").replace(" ", r"\ ")


def field_key(metric: str) -> str:
    """``metric=`` escaped, refusing names that collide with the time or a tag."""
    if metric in RESERVED_METRICS:
        raise ValueError(f"metric name {metric!r} is reserved in InfluxDB")
    return f"{escape_key(metric)}="


def series_key(device_id: str, tags: SeriesTags | None) -> str:
    """Measurement and tag set of a device's lines, with the separating space."""
    if tags is None:
        return f"{DEFAULT_MEASUREMENT},{DEVICE_TAG}={escape_key(device_id)} "
    return (
        f"{escape_measurement(tags.facility_type)},"
        f"building_id={escape_key(tags.building_id)},"
        f"community_id={escape_key(tags.community_id)},"
        f"{DEVICE_TAG}={escape_key(device_id)},"
        f"grid_id={escape_key(tags.grid_id)} "
    )


class LineEncoder:
    """Encodes batches of points into line protocol, one line per reading."""

    __slots__ = ("_fields", "_series")

    def __init__(self, tags: TagLookup | None = None) -> None:
        lookup = tags or {}
        self._series = EscapedNames(lambda device_id: series_key(device_id, lookup.get(device_id)))
        self._fields = EscapedNames(field_key)

    def lines(self, points: Sequence[Point]) -> list[str]:
        """One line per run of consecutive points with the same device and time.

        A metric repeated inside a run keeps its last value, as a later point replaces an
        earlier one. Raises ValueError on names line protocol cannot carry.
        """
        series, fields = self._series, self._fields
        lines: list[str] = []
        device, ts, head = "", 0.0, ""
        values: dict[str, str] = {}
        for point in points:
            if point.device_id != device or point.ts != ts or not values:
                if values:
                    lines.append(_line(head, values, ts))
                device, ts, values = point.device_id, point.ts, {}
                head = series[device]
            # `+ 0.0` turns bools and ints into floats, so every field stays a float field.
            values[fields[point.metric]] = repr(point.value + 0.0)
        if values:
            lines.append(_line(head, values, ts))
        return lines


def _line(series: str, values: dict[str, str], ts: float) -> str:
    fields = ",".join(key + value for key, value in values.items())
    return f"{series}{fields} {int(ts * 1_000_000.0 + 0.5)}"
