"""Open311 and resident settings from the environment (prefix ``FM_OPEN311_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ResidentSettings(BaseSettings):
    """Limits and options of the public resident endpoints."""

    model_config = SettingsConfigDict(env_prefix="FM_OPEN311_", extra="ignore", frozen=True)

    # Comma-separated keys; empty means the endpoints are open (no api_key needed).
    api_keys: str = ""
    # A reported lat/long resolves to the nearest building within this distance.
    locate_max_distance_m: float = Field(default=150.0, gt=0)
    # Per client (address): at most this many reports per window.
    post_limit: int = Field(default=5, ge=1)
    post_window_s: float = Field(default=3_600.0, gt=0)
    max_description_chars: int = Field(default=4_000, ge=1)
    max_media_url_chars: int = Field(default=2_048, ge=16, le=2_048)
    max_contact_chars: int = Field(default=64, ge=1, le=64)
    max_email_chars: int = Field(default=254, ge=3, le=254)
    max_address_chars: int = Field(default=255, ge=1, le=255)
    max_comment_chars: int = Field(default=2_000, ge=1)
    # GET requests without dates covers this many days and answers at most this many requests.
    list_default_days: int = Field(default=90, ge=1)
    list_max_results: int = Field(default=1_000, ge=1)
    # A webhook notification endpoint (its id) that also receives resident notices, or none.
    notice_endpoint_id: int | None = None
    notify_interval_s: float = Field(default=10.0, gt=0)

    @property
    def keys(self) -> frozenset[str]:
        """The accepted api keys (empty: open)."""
        return frozenset(key.strip() for key in self.api_keys.split(",") if key.strip())
