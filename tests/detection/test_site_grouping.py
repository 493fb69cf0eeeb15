"""The site file's grouping fields: ``circuit``/``edge`` on devices, ``street: grouping:``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.settings import BUNDLED_SITE
from governance.loader import SiteError, dump_site, load_site, parse_site
from governance.model import GroupingOverrides


def test_grouping_fields_round_trip_through_the_site_file() -> None:
    site = load_site(BUNDLED_SITE)
    first, second = list(site.devices)[:2]
    devices = dict(site.devices)
    devices[first] = replace(devices[first], circuit="riser-a")
    devices[second] = replace(devices[second], edge="gw-1")
    grouping = GroupingOverrides(group_wait_s=30.0, min_share=0.5, min_devices=3)
    changed = replace(site, street=replace(site.street, grouping=grouping), devices=devices)
    parsed = parse_site(dump_site(changed))
    assert parsed.street.grouping == grouping
    assert parsed.devices[first].circuit == "riser-a"
    assert parsed.devices[first].group_id == f"circuit:{parsed.devices[first].building_id}/riser-a"
    assert parsed.devices[second].edge == "gw-1"
    assert parsed.devices[second].group_id.startswith("edge:")


def test_a_bad_grouping_value_is_reported_with_its_line() -> None:
    text = dump_site(load_site(BUNDLED_SITE)).replace(
        "street:\n", "street:\n  grouping: {min_share: 2.5}\n", 1
    )
    grouping_line = text.splitlines().index("  grouping: {min_share: 2.5}") + 1
    with pytest.raises(SiteError, match=f"^<string>:{grouping_line}: .*min_share"):
        parse_site(text)
