"""Who may log in to the broker: one account per device, team and service client.

Passwords live in ``credentials.csv`` (``username,password,role``). A re-run keeps the password
of every account that still exists with the same role, so devices already provisioned keep
working; accounts the site no longer has are dropped and new ones get a fresh password.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from governance.model import Site

#: Random bytes per password; ``token_urlsafe`` makes 43 URL-safe characters of 32 bytes, so a
#: password fits in FM_MQTT_URL (``mqtt://user:pass@host``) without escaping.
PASSWORD_BYTES = 32
#: What Mosquitto's password file and ACL can carry safely as a user name (no ``:``, spaces or
#: topic wildcards); device ids already match it (sensors.contract.DEVICE_ID_PATTERN).
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,80}")
TEAM_USER_PREFIX = "team-"
CREDENTIALS_HEADER = ("username", "password", "role")


class BrokerConfigError(Exception):
    """The site or an existing credentials file cannot make a broker configuration."""


class Role(StrEnum):
    """What an account is for; the ACL grants topics by role."""

    DEVICE = "device"
    GATEWAY = "gateway"
    API = "api"
    ALERTS = "alerts"
    TEAM = "team"


#: User names of the service's own clients (FM_MQTT_URL of `fm gateway`, `fm api`, `fm alerts`).
SERVICE_USERNAMES: Mapping[Role, str] = {
    Role.GATEWAY: "fm-gateway",
    Role.API: "fm-api",
    Role.ALERTS: "fm-alerts",
}


@dataclass(frozen=True, slots=True)
class Account:
    """One broker login; ``subject`` is the device or team id it speaks for ('' for services)."""

    username: str
    password: str
    role: Role
    subject: str = ""


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """The accounts to write, and how they differ from the previous credentials file."""

    accounts: tuple[Account, ...]
    added: tuple[str, ...]
    kept: tuple[str, ...]
    removed: tuple[str, ...]


def team_username(team_id: str) -> str:
    """The user name of a team's crew clients."""
    return f"{TEAM_USER_PREFIX}{team_id}"


def wanted_accounts(site: Site) -> list[tuple[str, Role, str]]:
    """``(username, role, subject)`` of every account the site needs, services first."""
    wanted = [(name, role, "") for role, name in SERVICE_USERNAMES.items()]
    wanted += [(team_username(team_id), Role.TEAM, team_id) for team_id in sorted(site.teams)]
    wanted += [(device_id, Role.DEVICE, device_id) for device_id in sorted(site.devices)]
    _check_usernames(wanted)
    return wanted


def _check_usernames(wanted: Iterable[tuple[str, Role, str]]) -> None:
    seen: dict[str, Role] = {}
    for username, role, _ in wanted:
        if not USERNAME_PATTERN.fullmatch(username):
            raise BrokerConfigError(
                f"{role} account {username!r} is not a valid broker user name "
                f"(letters, digits, '-' and '_', at most 80)"
            )
        if username in seen:
            raise BrokerConfigError(
                f"user name {username!r} is both a {seen[username]} and a {role} account; "
                "rename the device or team in the site file"
            )
        seen[username] = role


def plan_accounts(site: Site, previous: Mapping[str, Account]) -> AccountPlan:
    """The site's accounts, keeping the password of each one ``previous`` has with its role."""
    accounts: list[Account] = []
    added: list[str] = []
    kept: list[str] = []
    for username, role, subject in wanted_accounts(site):
        old = previous.get(username)
        if old is not None and old.role is role:
            kept.append(username)
            password = old.password
        else:
            added.append(username)
            password = secrets.token_urlsafe(PASSWORD_BYTES)
        accounts.append(Account(username, password, role, subject))
    current = {account.username for account in accounts}
    removed = sorted(name for name in previous if name not in current)
    return AccountPlan(tuple(accounts), tuple(added), tuple(kept), tuple(removed))


def read_credentials(path: Path) -> dict[str, Account]:
    """The accounts of an earlier run (empty when there is none yet)."""
    if not path.exists():
        return {}
    rows = csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
    header = next(rows, None)
    if header is None:
        return {}
    if tuple(header) != CREDENTIALS_HEADER:
        raise BrokerConfigError(f"{path}: the first line must be {','.join(CREDENTIALS_HEADER)}")
    accounts: dict[str, Account] = {}
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(CREDENTIALS_HEADER) or not row[1]:
            raise BrokerConfigError(f"{path}:{line}: expected username,password,role")
        username, password, role = row
        try:
            accounts[username] = Account(username, password, Role(role))
        except ValueError as exc:
            raise BrokerConfigError(f"{path}:{line}: unknown role {role!r}") from exc
    return accounts


def render_credentials(accounts: Iterable[Account]) -> str:
    """``credentials.csv``: what an operator hands to each device and service."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CREDENTIALS_HEADER)
    for account in accounts:
        writer.writerow((account.username, account.password, account.role))
    return out.getvalue()
