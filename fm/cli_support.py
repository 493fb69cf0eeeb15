"""What every `fm` command shares: readable settings and site errors."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.settings import Settings
from governance.loader import SiteError, load_site
from governance.model import Site

#: For commands that use no secret (`fm site check`, `fm broker-config`, the log level): a bad
#: FM_ADMIN_TOKEN is for the commands that use it to refuse, not these.
WITHOUT_SECRETS: dict[str, object] = {"admin_token": None}


class ConfigError(Exception):
    """Settings or site file are unusable; the message says what to fix."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a readable error instead of a traceback."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "\n".join(f"  {_settings_problem(err)}" for err in exc.errors())
        raise ConfigError(f"bad settings:\n{problems}") from exc


def _settings_problem(error: ErrorDetails) -> str:
    """One settings error, naming its FM_* variable once (checks across fields name their own)."""
    message = error["msg"].removeprefix("Value error, ")
    field = "_".join(str(part) for part in error["loc"])
    if not field:
        return message
    variable = f"FM_{field.upper()}"
    return message if message.startswith(variable) else f"{variable}: {message}"


def load_site_or_fail(path: Path) -> Site:
    """The site file, or a ConfigError listing every problem with its line."""
    try:
        return load_site(path)
    except SiteError as exc:
        raise ConfigError(str(exc)) from exc
