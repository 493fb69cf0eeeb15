"""Every ``FM_OPEN311_*`` setting is documented, and the api keys parse as documented."""

from __future__ import annotations

from pathlib import Path

from residents.settings import ResidentSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_resident_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text("utf-8")
    undocumented = [
        name for name in ResidentSettings.model_fields if f"`FM_OPEN311_{name.upper()}`" not in text
    ]
    assert undocumented == []


def test_api_keys_are_comma_separated_and_empty_means_open() -> None:
    assert ResidentSettings(api_keys="").keys == frozenset()
    assert ResidentSettings(api_keys=" a , b,,").keys == frozenset({"a", "b"})
