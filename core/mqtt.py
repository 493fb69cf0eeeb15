"""Where the MQTT broker is: one reading of FM_MQTT_URL / FM_MQTT_PORT for every part."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from core.settings import Settings

#: The MQTT port when FM_MQTT_URL names none (IANA registered port of MQTT).
DEFAULT_MQTT_PORT = 1883


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens and how to log in."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None


def broker_address(settings: Settings) -> BrokerAddress:
    """``FM_MQTT_URL`` when set, else the embedded broker on loopback at ``FM_MQTT_PORT``."""
    if not settings.mqtt_url:
        return BrokerAddress(host="127.0.0.1", port=settings.mqtt_port)
    parts = urlsplit(settings.mqtt_url)
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or DEFAULT_MQTT_PORT,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
