"""docs/architecture.md carries the package table generated from the import contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.contract import load_contract, write_tree

contract = load_contract()


def test_committed_doc_is_what_the_generator_writes() -> None:
    committed = contract.DOC.read_text(encoding="utf-8")
    assert committed == contract.regenerate(committed, contract.render_table(contract.ROOT))


def test_a_new_arrow_changes_the_generated_table(tmp_path: Path) -> None:
    before = contract.render_table(write_tree(tmp_path, {"core.clock": "", "storage.db": ""}))
    (tmp_path / "core" / "clock.py").write_text("import storage.db\n", encoding="utf-8")
    after = contract.render_table(tmp_path)
    assert "| `core` | `storage` | — |" in after
    assert "| `core` | `storage` | — |" not in before


def test_regenerating_replaces_only_the_marked_part() -> None:
    doc = f"# Title\n\nprose\n{contract.DOC_BEGIN}\nstale\n{contract.DOC_END}\nmore prose\n"
    regenerated = contract.regenerate(doc, f"{contract.DOC_BEGIN}\nfresh\n{contract.DOC_END}")
    assert (
        regenerated
        == f"# Title\n\nprose\n{contract.DOC_BEGIN}\nfresh\n{contract.DOC_END}\nmore prose\n"
    )


def test_a_doc_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        contract.regenerate("# no markers\n", "table")
