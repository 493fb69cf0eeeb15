"""The import contract (scripts/import_contract.py): the tree keeps it; it catches wrong arrows."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.architecture.contract import load_contract, write_tree

contract = load_contract()
ROOT: Path = contract.ROOT

# (importing module, imported module): every arrow DESIGN.md forbids, one or more per rule.
FORBIDDEN = [
    # gateway and alerts never import each other
    ("gateway.rules", "alerts.service"),
    ("alerts.intake", "gateway.service"),
    # nothing imports api but the fm runner, which serves it
    ("fm.demo", "api.app"),
    ("fm.cli", "api.deps"),
    ("gateway.service", "api.app"),
    ("alerts.flows", "api.deps"),
    ("core.events", "api.app"),
    ("benchmarks.support", "api.app"),
    # nothing imports fm
    ("api.app", "fm.runner"),
    ("gateway.service", "fm.cli"),
    ("alerts.intake", "fm.broker"),
    ("core.settings", "fm.errors"),
    # sensors imports nothing of the service; its shared modules not its device side
    ("sensors.profiles", "core.events"),
    ("sensors.simulator", "gateway.service"),
    ("sensors.client", "governance.model"),
    ("sensors.catalogue", "sensors.profiles"),
    ("sensors.contract", "sensors.client"),
    # the service reads profiles and contract, never the simulator side
    ("gateway.service", "sensors.simulator"),
    ("gateway.decode", "sensors.client"),
    ("gateway.rules", "sensors.faults"),
    ("alerts.service", "sensors.behaviour"),
    ("api.app", "sensors.simulator"),
    # core sits at the bottom: only the fault vocabulary below it
    ("core.events", "sensors.profiles"),
    ("core.events", "governance.model"),
    ("core.settings", "storage.relational.db"),
    ("core.events", "gateway.service"),
    ("core.events", "alerts.service"),
    # the shared model does not reach up
    ("storage.relational.models", "alerts.service"),
    ("governance.model", "gateway.rules"),
]

ALLOWED = [
    ("fm.runner", "api.app"),
    ("fm.demo", "fm.runner"),
    ("fm.runner", "fm.errors"),
    ("fm.simulation", "sensors.simulator"),
    ("api.app", "alerts.service"),
    ("core.events", "sensors.catalogue"),
    ("gateway.decode", "sensors.contract"),
    ("alerts.service", "sensors.profiles"),
    ("sensors.simulator", "sensors.client"),
    ("sensors.profiles", "sensors.catalogue"),
]


def tree_with_import(tmp_path: Path, source: str, target: str, statement: str = "") -> Path:
    """A tree where ``source`` imports ``target`` and both modules exist."""
    return write_tree(
        tmp_path,
        {target: "VALUE = 1\n", source: statement or f"from {target} import VALUE\n"},
    )


def arrows(root: Path) -> list[tuple[str, str]]:
    return [(v.found.source, v.found.target) for v in contract.check(root)]


def test_the_source_tree_keeps_the_contract() -> None:
    violations = [str(v) for v in contract.check(ROOT)]
    assert violations == []
    assert contract.uncovered_packages(ROOT) == []


def test_every_distributed_package_is_in_the_contract() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    distributed = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    named = {c.name.split(".")[0] for c in contract.CONTRACT}
    assert distributed <= named


def test_a_wrong_way_import_fails_with_exactly_that_arrow(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "alerts.service": "class AlertsService: ...\n",
            "core.events": "from sensors.catalogue import Severity\n",
            "sensors.catalogue": "Severity = str\n",
            "gateway.rules": (
                "from core.events import Severity\n"
                "from alerts.service import AlertsService  # wrong way\n"
            ),
        },
    )
    [violation] = contract.check(tmp_path)
    assert (violation.source_component, violation.target_component) == ("gateway", "alerts")
    assert str(violation) == (
        "gateway/rules.py:2: gateway.rules imports alerts.service (gateway may not import alerts)"
    )


@pytest.mark.parametrize(("source", "target"), FORBIDDEN)
def test_each_forbidden_arrow_is_reported(tmp_path: Path, source: str, target: str) -> None:
    assert arrows(tree_with_import(tmp_path, source, target)) == [(source, target)]


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_allowed_arrows_pass(tmp_path: Path, source: str, target: str) -> None:
    assert arrows(tree_with_import(tmp_path, source, target)) == []


def test_imports_inside_functions_are_arrows_too(tmp_path: Path) -> None:
    lazy = "def start() -> None:\n    from api.app import VALUE\n"
    root = tree_with_import(tmp_path, "gateway.service", "api.app", lazy)
    assert arrows(root) == [("gateway.service", "api.app")]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    root = tree_with_import(
        tmp_path, "sensors.catalogue", "sensors.profiles", "from . import profiles\n"
    )
    assert arrows(root) == [("sensors.catalogue", "sensors.profiles")]


def test_from_package_import_module_names_the_module(tmp_path: Path) -> None:
    statement = "from sensors import simulator\n"
    root = tree_with_import(tmp_path, "gateway.service", "sensors.simulator", statement)
    violation = contract.check(root)[0]
    assert (violation.found.target, violation.target_component) == ("sensors.simulator", "sensors")


def test_a_package_outside_the_contract_is_reported(tmp_path: Path) -> None:
    root = tree_with_import(tmp_path, "gateway.service", "newpkg.thing")
    assert contract.uncovered_packages(root) == ["newpkg"]
    [violation] = contract.check(root)
    assert violation.target_component == "newpkg.thing (not in the contract)"


def test_tests_may_import_anything(tmp_path: Path) -> None:
    assert arrows(tree_with_import(tmp_path, "tests.test_cli", "fm.cli")) == []


def test_the_command_line_exits_1_on_a_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(contract, "ROOT", tree_with_import(tmp_path, "core.events", "fm.cli"))
    assert contract.main([]) == 1
    assert "core.events imports fm.cli (core may not import fm)" in capsys.readouterr().out
