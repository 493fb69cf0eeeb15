"""Partitions: every device in exactly one share, the same in every process; a partition's
gateway keeps only its own devices' state and never deletes another partition's."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from core.clock import ManualClock
from core.settings import BUNDLED_SITE
from gateway.liveness import Liveness
from gateway.partition import SUBSCRIBE_CHUNK, Partition, PartitionError, device_topic_filters
from gateway.rules import RuleEngine
from gateway.state import Checkpointer, MemoryStateStore
from governance.loader import load_site
from governance.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(BUNDLED_SITE)


@pytest.mark.parametrize(
    ("spec", "expected"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3/3 ", (3, 3))]
)
def test_a_spec_names_one_share(spec: str, expected: tuple[int, int]) -> None:
    partition = Partition.parse(spec)
    assert (partition.index, partition.count) == expected


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1", "1/0", "a/b", "1/2/3", "-1/2", ""])
def test_anything_else_is_refused(spec: str) -> None:
    with pytest.raises(PartitionError):
        Partition.parse(spec)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_every_device_is_in_exactly_one_share_and_shares_are_even(site: Site, count: int) -> None:
    shares = [Partition(index, count) for index in range(1, count + 1)]
    for device_id in site.devices:
        assert sum(share.owns(device_id) for share in shares) == 1
    sizes = [len(share.of_site(site).devices) for share in shares]
    assert sum(sizes) == len(site.devices)
    assert min(sizes) >= len(site.devices) / count * 0.8


def test_the_share_of_a_device_does_not_depend_on_the_process(site: Site) -> None:
    # Two other interpreters with different hash salts give the same shares as this one.
    script = (
        "from core.settings import BUNDLED_SITE; from governance.loader import load_site;"
        "from gateway.partition import Partition; s = load_site(BUNDLED_SITE);"
        "print(','.join(sorted(d for d in s.devices if Partition(2, 3).owns(d))))"
    )
    here = ",".join(sorted(d for d in site.devices if Partition(2, 3).owns(d)))
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == here


def test_a_share_subscribes_to_its_devices_in_bounded_packets(site: Site) -> None:
    share = Partition(1, 2).of_site(site)
    chunks = list(device_topic_filters(share, "fm"))
    filters = [topic for chunk in chunks for topic in chunk]
    assert filters == [f"fm/{d}/+" for d in sorted(share.devices)]
    assert all(len(chunk) <= SUBSCRIBE_CHUNK for chunk in chunks)
    assert Partition(1, 1).of_site(site) is site and Partition(1, 1).suffix() == ""
    assert Partition(2, 3).suffix() == "-p2of3"


async def test_a_partition_never_deletes_another_partitions_checkpoints(site: Site) -> None:
    mine, theirs = Partition(1, 2), Partition(2, 2)
    own = next(d for d in site.devices if mine.owns(d))
    other = next(d for d in site.devices if theirs.owns(d))
    store = MemoryStateStore()
    store.rows = {own: '{"rules": null, "liveness": null}', other: '{"rules": {"x": 1}}'}
    store.open = {own: {"short_circuit"}, other: {"smoke"}}
    shared = mine.of_site(site)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    rules = RuleEngine(shared)
    checkpointer = Checkpointer(
        rules=rules,
        liveness=Liveness(site=shared, clock=clock),
        store=store,
        devices=shared.devices,
        clock=clock,
    )

    await checkpointer.restore()
    await checkpointer.checkpoint()

    assert store.rows[other] == '{"rules": {"x": 1}}'  # the other gateway's row, untouched
    assert other not in rules.snapshot()
