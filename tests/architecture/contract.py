"""Loads scripts/import_contract.py (a script, not a package) and builds throw-away source trees."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_contract.py"


def load_contract() -> ModuleType:
    """The import-contract script as a module (registered so its dataclasses resolve)."""
    name = "import_contract"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_tree(root: Path, modules: Mapping[str, str]) -> Path:
    """Write ``{"pkg.sub.mod": source}`` as files under ``root``, with every ``__init__.py``."""
    for name, source in modules.items():
        parts = name.split(".")
        for depth in range(1, len(parts)):
            package = root.joinpath(*parts[:depth])
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").touch()
        (root.joinpath(*parts[:-1]) / f"{parts[-1]}.py").write_text(source, encoding="utf-8")
    return root
