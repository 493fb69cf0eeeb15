"""Generate the bundled example site, governance/sites/xincheng.yaml (deterministic, offline).

Usage: ``python scripts/make_example_site.py`` rewrites the file; ``--check`` exits 1 when the
committed file differs from what this script would write.

The site is modelled on Xincheng Subdistrict (新城街道), Feicheng, Shandong: three communities,
twelve grids each, every grid served by a "1+2+N" team whose members each answer for one
building of 20-50 households. People, phone numbers and coordinates are fictitious.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
from pathlib import Path
from typing import Any

import yaml

SEED = 20_240_611
OUTPUT = Path(__file__).resolve().parent.parent / "governance" / "sites" / "xincheng.yaml"

GRIDS_PER_COMMUNITY = 12
FULL_TIME_MEMBERS = 2
#: Buildings per grid; every member but the leader answers for one, so N = buildings - 2.
BUILDINGS_PER_GRID = (3, 4, 4, 4)
FLOORS = (5, 6, 6, 7)
UNITS = (2, 2, 3)
HOUSEHOLDS_PER_LANDING = 2
FLOORS_PER_LIGHT = 2
SHED_SHARE = 0.6
SMALL_SHED_SHARE = 0.3
SMALL_SHED_RATED_POWER_W = 12_000.0
EXPOSED_PIPE_SHARE = 0.1
EXPOSED_PIPE_FREEZE_C = 4.0
#: Flow-style entries longer than this are written in block style.
MAX_FLOW_WIDTH = 200


class CommunityPlan:
    """What to generate for one community."""

    def __init__(
        self, cid: str, name: str, name_zh: str, centre: tuple[float, float], red_share: float
    ) -> None:
        self.id = cid
        self.name = name
        self.name_zh = name_zh
        self.centre = centre
        #: Share of buildings with red care households (elderly living alone).
        self.red_share = red_share


COMMUNITIES = (
    CommunityPlan("ssc", "Sunshine Shuncheng", "阳光舜城", (36.1892, 116.7731), 0.12),
    # The old steel-works housing: an ageing population, many elderly living alone.
    CommunityPlan("tg", "Special Steel", "特钢", (36.2046, 116.7452), 0.30),
    CommunityPlan("xy", "Xiangyang", "向阳", (36.1768, 116.7605), 0.18),
)
YELLOW_SHARE = 0.3

SURNAMES = (
    ("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"),
    ("Yang", "杨"), ("Zhao", "赵"), ("Huang", "黄"), ("Zhou", "周"), ("Wu", "吴"),
    ("Xu", "徐"), ("Sun", "孙"), ("Ma", "马"), ("Zhu", "朱"), ("Hu", "胡"), ("Guo", "郭"),
)  # fmt: skip
GIVEN_NAMES = (
    ("Fang", "芳"), ("Wei", "伟"), ("Min", "敏"), ("Jing", "静"), ("Lei", "磊"),
    ("Yan", "燕"), ("Qiang", "强"), ("Jun", "军"), ("Hong", "红"), ("Ping", "平"),
    ("Gang", "刚"), ("Li", "丽"), ("Hui", "辉"), ("Xia", "霞"), ("Tao", "涛"), ("Juan", "娟"),
)  # fmt: skip

DEPARTMENTS: tuple[dict[str, Any], ...] = (
    {
        "id": "fire",
        "name": "Feicheng Fire and Rescue Brigade (肥城市消防救援大队)",
        "handles": ["smoke", "overheat"],
        "phone": "119",
    },
    {
        "id": "water",
        "name": "Feicheng Water Supply (肥城市供水公司)",
        "handles": ["burst", "leak"],
        "phone": "0538-555-0101",
    },
    {
        "id": "power",
        "name": "Feicheng Power Supply (肥城供电公司)",
        "handles": ["no_power", "short_circuit", "breaker_trip"],
        "phone": "95598",
    },
    {"id": "police", "name": "Xincheng Police Station (新城派出所)", "handles": [], "phone": "110"},
)

TYPE_OVERRIDES: dict[str, Any] = {
    "charging_shed": {"params": {"heartbeat_s": 30}, "faults": {"port_fault": {"readings": 2}}},
    "pipe": {"params": {"low_pressure_for_s": 120}},
}


class Generator:
    """Builds the site document from a seeded random source."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.people = 0
        self.grids: list[dict[str, Any]] = []
        self.teams: list[dict[str, Any]] = []
        self.buildings: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []

    def document(self) -> dict[str, Any]:
        """The whole site file as plain data."""
        for community in COMMUNITIES:
            self._community(community)
        return {
            "version": 1,
            "street": {
                "id": "xincheng",
                "name": "Xincheng Subdistrict (新城街道)",
                "city": "Feicheng, Shandong (山东省肥城市)",
                "timezone": "Asia/Shanghai",
            },
            "types": TYPE_OVERRIDES,
            "communities": [
                {"id": c.id, "name": f"{c.name} Community ({c.name_zh}社区)"} for c in COMMUNITIES
            ],
            "grids": self.grids,
            "teams": self.teams,
            "departments": list(DEPARTMENTS),
            "buildings": self.buildings,
            "devices": self.devices,
        }

    def _person(self, pid: str, **extra: Any) -> dict[str, Any]:
        self.people += 1
        surname, surname_zh = self.rng.choice(SURNAMES)
        given, given_zh = self.rng.choice(GIVEN_NAMES)
        return {
            "id": pid,
            "name": f"{surname} {given} ({surname_zh}{given_zh})",
            "phone": f"+86-138-0538-{self.people:04d}",
            **extra,
        }

    def _community(self, community: CommunityPlan) -> None:
        building_no = 0
        for grid_no in range(1, GRIDS_PER_COMMUNITY + 1):
            gid = f"{community.id}-g{grid_no:02d}"
            team_id = f"{gid}-team"
            self.grids.append(
                {
                    "id": gid,
                    "name": f"{community.name} Grid {grid_no} ({community.name_zh}第{grid_no}网格)",
                    "community": community.id,
                    "team": team_id,
                }
            )
            grid_lat = community.centre[0] + self.rng.uniform(-0.004, 0.004)
            grid_lon = community.centre[1] + self.rng.uniform(-0.005, 0.005)
            building_ids = []
            for index in range(1, self.rng.choice(BUILDINGS_PER_GRID) + 1):
                building_no += 1
                bid = f"{gid}-b{index}"
                building_ids.append(bid)
                self._building(community, gid, bid, building_no, (grid_lat, grid_lon))
            self._team(community, gid, team_id, grid_no, building_ids)

    def _building(
        self,
        community: CommunityPlan,
        gid: str,
        bid: str,
        number: int,
        grid_centre: tuple[float, float],
    ) -> None:
        floors = self.rng.choice(FLOORS)
        units = self.rng.choice(UNITS)
        roll = self.rng.random()
        care = (
            "red"
            if roll < community.red_share
            else "yellow"
            if roll < community.red_share + YELLOW_SHARE
            else "green"
        )
        self.buildings.append(
            {
                "id": bid,
                "name": f"{community.name} Bldg {number} ({community.name_zh}{number}号楼)",
                "grid": gid,
                "households": floors * units * HOUSEHOLDS_PER_LANDING,
                "care": care,
                "location": {
                    "lat": round(grid_centre[0] + self.rng.uniform(-0.0008, 0.0008), 6),
                    "lon": round(grid_centre[1] + self.rng.uniform(-0.0010, 0.0010), 6),
                    "text": f"{community.name_zh}{number}号楼, {floors} floors, {units} units",
                },
            }
        )
        for light in range(1, math.ceil(floors / FLOORS_PER_LIGHT) + 1):
            low = (light - 1) * FLOORS_PER_LIGHT + 1
            high = min(low + FLOORS_PER_LIGHT - 1, floors)
            span = f"{low}F" if low == high else f"{low}F-{high}F"
            self.devices.append(
                {
                    "id": f"{bid}-light-{light}",
                    "type": "corridor_light",
                    "building": bid,
                    "name": f"Bldg {number} stairwell light {span}",
                    "location": {"text": f"stairwell {span}"},
                }
            )
        pipe: dict[str, Any] = {
            "id": f"{bid}-pipe",
            "type": "pipe",
            "building": bid,
            "name": f"Bldg {number} water main",
            "location": {"text": "basement water main"},
        }
        if self.rng.random() < EXPOSED_PIPE_SHARE:
            # An exposed riser freezes earlier than one in a heated basement.
            pipe["location"] = {"text": "exposed riser, north wall"}
            pipe["params"] = {"freeze_c": EXPOSED_PIPE_FREEZE_C}
        self.devices.append(pipe)
        if self.rng.random() < SHED_SHARE:
            shed: dict[str, Any] = {
                "id": f"{bid}-shed",
                "type": "charging_shed",
                "building": bid,
                "name": f"Bldg {number} e-bike charging shed",
                "location": {"text": "e-bike shed beside the entrance"},
            }
            if self.rng.random() < SMALL_SHED_SHARE:
                shed["params"] = {"rated_power_w": SMALL_SHED_RATED_POWER_W}
            self.devices.append(shed)

    def _team(
        self,
        community: CommunityPlan,
        gid: str,
        team_id: str,
        grid_no: int,
        building_ids: list[str],
    ) -> None:
        leader = self._person(f"{gid}-leader")
        assigned = list(building_ids)
        self.rng.shuffle(assigned)
        members = []
        for index, bid in enumerate(assigned):
            if index < FULL_TIME_MEMBERS:
                pid, role = f"{gid}-ft{index + 1}", "full_time"
            else:
                pid, role = f"{gid}-pt{index - FULL_TIME_MEMBERS + 1}", "part_time"
            members.append(self._person(pid, role=role, buildings=[bid]))
        self.teams.append(
            {
                "id": team_id,
                "name": f"{community.name} Grid {grid_no} team",
                "grid": gid,
                "leader": leader,
                "members": members,
            }
        )


# A tiny YAML emitter: flow style for short entries keeps a 700-device file readable.

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_YAML11_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}
)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML11_WORDS:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _block(value: dict[str, Any], indent: int, first_prefix: str = "") -> list[str]:
    lines = []
    pad = " " * indent
    for position, (key, item) in enumerate(value.items()):
        lead = first_prefix if position == 0 and first_prefix else pad
        flow = _flow(item)
        if not isinstance(item, dict | list) or len(flow) + indent <= MAX_FLOW_WIDTH:
            lines.append(f"{lead}{_scalar(key)}: {flow}")
        elif isinstance(item, dict):
            lines.append(f"{lead}{_scalar(key)}:")
            lines.extend(_block(item, indent + 2))
        else:
            lines.append(f"{lead}{_scalar(key)}:")
            lines.extend(_sequence(item, indent + 2))
    return lines


def _sequence(items: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for item in items:
        flow = _flow(item)
        if not isinstance(item, dict) or len(flow) + indent + 2 <= MAX_FLOW_WIDTH:
            lines.append(f"{pad}- {flow}")
        else:
            lines.extend(_block(item, indent + 2, first_prefix=f"{pad}- "))
    return lines


HEADER = """\
# Example site: Xincheng Subdistrict (新城街道), Feicheng, Shandong.
# Generated by scripts/make_example_site.py; edit that script and regenerate, not this file.
# People, phone numbers and coordinates are fictitious. Format: docs/site-file.md.
"""


def render_site(seed: int = SEED) -> str:
    """The example site file's text."""
    document = Generator(seed).document()
    lines = [HEADER.rstrip("\n")]
    for key, value in document.items():
        lines.append("")
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(_sequence(value, 2))
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(_block(value, 2))
        else:
            lines.append(f"{key}: {_scalar(value)}")
    text = "\n".join(lines) + "\n"
    # The emitter is deliberately simple; prove that it wrote what we meant.
    if yaml.safe_load(text) != document:
        raise AssertionError("emitted YAML does not read back as the generated document")
    return text


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the bundled example site."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render_site()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is out of date; run scripts/make_example_site.py", file=sys.stderr
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
