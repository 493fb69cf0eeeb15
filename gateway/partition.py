"""Several gateways over one broker: each takes a fixed share of the devices (``--partition i/N``).

A device belongs to partition ``crc32(device_id) % N + 1``: the same answer in every process and
on every start (Python's ``hash`` is salted per process), and shares stay even. The gateway of
partition ``i`` subscribes only to its own devices' topics (``fm/<id>/+``), so on plain
Mosquitto each device's messages reach exactly one process and its rule and liveness state stay
correct; it also loads and checkpoints only its own devices' state.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from governance.model import Site
from sensors.contract import device_subscriptions

_SPEC = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")
#: Topic filters per SUBSCRIBE packet: a city of devices is subscribed in a few packets, none huge.
SUBSCRIBE_CHUNK = 1_000


class PartitionError(ValueError):
    """A partition spec that is not ``i/N`` with 1 ≤ i ≤ N."""


@dataclass(frozen=True, slots=True)
class Partition:
    """Partition ``index`` of ``count`` (1-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Partition:
        """``"2/4"`` → Partition(2, 4); PartitionError otherwise."""
        match = _SPEC.match(spec.strip())
        if match is None:
            raise PartitionError(f"partition {spec!r} is not i/N (e.g. 2/4)")
        index, count = int(match.group(1)), int(match.group(2))
        if index > count:
            raise PartitionError(f"partition {spec!r}: i must be between 1 and N")
        return cls(index, count)

    @property
    def whole(self) -> bool:
        """True for 1/1: every device."""
        return self.count == 1

    def owns(self, device_id: str) -> bool:
        """True when ``device_id``'s messages belong to this partition."""
        return zlib.crc32(device_id.encode()) % self.count == self.index - 1

    def of_site(self, site: Site) -> Site:
        """The site with only this partition's devices (the rest of the hierarchy unchanged)."""
        if self.whole:
            return site
        devices = {d: device for d, device in site.devices.items() if self.owns(d)}
        return replace(site, devices=devices)

    def suffix(self) -> str:
        """A client-id suffix naming the partition (``-p2of4``), empty for 1/1."""
        return "" if self.whole else f"-p{self.index}of{self.count}"


def subscription_chunks(site: Site, partition: Partition, prefix: str) -> list[list[str]]:
    """The topic filters a gateway subscribes to, one list per SUBSCRIBE packet: every
    device's channels by wildcard, or for a partition only its own devices (``site`` is the
    partition's site)."""
    if partition.whole:
        return [list(device_subscriptions(prefix))]
    return list(device_topic_filters(site, prefix))


def device_topic_filters(site: Site, prefix: str) -> Iterator[list[str]]:
    """One ``prefix/<id>/+`` filter per device of ``site``, in SUBSCRIBE-sized chunks."""
    filters = [f"{prefix}/{device_id}/+" for device_id in sorted(site.devices)]
    for start in range(0, len(filters), SUBSCRIBE_CHUNK):
        yield filters[start : start + SUBSCRIBE_CHUNK]
