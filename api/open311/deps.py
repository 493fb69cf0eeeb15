"""Dependencies of the public resident endpoints: their settings, the api key, the format."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.open311.formats import Format
from residents.errors import ResidentError
from residents.settings import ResidentSettings


class ForbiddenError(ResidentError):
    """The api_key is missing or not one of ``FM_OPEN311_API_KEYS`` (403)."""

    code = 403


class UnsupportedFormatError(ResidentError):
    """The path asks for a format other than json or xml (404: no such resource)."""

    code = 404


def get_resident_settings(request: Request) -> ResidentSettings:
    """The Open311 settings: the app's own (tests set them), else read once from the env."""
    settings: ResidentSettings | None = getattr(request.app.state, "resident_settings", None)
    if settings is None:
        settings = ResidentSettings()
        request.app.state.resident_settings = settings
    return settings


ResidentSettingsDep = Annotated[ResidentSettings, Depends(get_resident_settings)]


def response_format(fmt: str) -> Format:
    """The format a path's ``.json``/``.xml`` suffix names."""
    try:
        return Format(fmt)
    except ValueError:
        raise UnsupportedFormatError(f"format {fmt!r} is not served; use .json or .xml") from None


FormatDep = Annotated[Format, Depends(response_format)]


def check_api_key(settings: ResidentSettings, api_key: str | None) -> None:
    """Refuse a POST without an accepted key, when keys are configured (else open)."""
    if settings.keys and api_key not in settings.keys:
        raise ForbiddenError("api_key is missing or not valid")
