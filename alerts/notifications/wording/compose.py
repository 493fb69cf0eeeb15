"""Notifications in words: one message per change, digests, and the machine payload's words.

:class:`Wording` renders a notification payload (``alerts.notifications.outbox``) in a language:
what happened, where (building, address, device location, grid, community), what was measured,
by when it must be acknowledged or resolved (local time of the street), who is on it, and a link
to the order in the crew view. Text from the site file or from people (names, addresses, notes,
details) is escaped before it goes into robot markdown, so a name can never format a message or
smuggle in a link.
"""

# The escape table maps markdown's characters to full-width look-alikes on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.notifications.wording.catalogue import Catalogue
from alerts.notifications.wording.en import EN
from alerts.notifications.wording.particulars import Particulars, local_time, particulars
from alerts.notifications.wording.zh import ZH
from governance.model import Site
from storage.relational.outbox_models import Language

CATALOGUES: Mapping[Language, Catalogue] = {Language.ZH: ZH, Language.EN: EN}

#: Markdown's active characters and line breaks → look-alikes that format nothing.
_MARKDOWN_SAFE = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "|": "｜",
        "~": "～",
        "#": "＃",
        "!": "！",
        "\n": " ",
        "\r": " ",
        "\t": " ",
    }
)

#: Orders about many devices at once (root-cause incidents), by their scope.
_INCIDENT_SCOPES = frozenset({"building", "community", "street"})

Escape = Callable[[str], str]


def escape_markdown(text: str) -> str:
    """``text`` that renders as itself in WeCom and DingTalk markdown (no markup, one line)."""
    return text.translate(_MARKDOWN_SAFE)


def _plain(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification in words: a title line, plain text and robot markdown."""

    title: str
    text: str
    markdown: str


class Wording:
    """Renders notifications with the site's names; ``public_url`` starts the crew-view links."""

    def __init__(self, *, site: Site | None, public_url: str) -> None:
        self._site = site
        self._public_url = public_url.rstrip("/")
        self._timezone = site.street.timezone if site is not None else "UTC"

    @property
    def default_language(self) -> Language:
        """The site file's ``street.language`` (Simplified Chinese without a site)."""
        return Language(self._site.street.language) if self._site is not None else Language.ZH

    def language(self, chosen: str | None) -> Language:
        """An endpoint's language, or the site's default when it chose none."""
        return Language(chosen) if chosen else self.default_language

    def link(self, order_id: object) -> str:
        """The order in the crew view."""
        return f"{self._public_url}/#/crew?order={order_id}"

    def notice(self, payload: Mapping[str, Any], language: Language) -> Notice:
        """One notification as a title, plain text (MQTT, webhooks) and markdown (robots)."""
        words = CATALOGUES[language]
        found = particulars(payload, self._site)
        title = self._title(payload, words, found, _plain)
        plain = [title, *self._lines(payload, words, found, _plain)]
        plain.append(
            f"{words.labels.open_link}{words.labels.colon}{self.link(payload.get('order_id'))}"
        )
        lines = self._lines(payload, words, found, escape_markdown)
        markdown = [
            f"### {self._title(payload, words, found, escape_markdown)}",
            *(f"> {line}" for line in lines),
            f"> [{words.labels.open_link}]({self.link(payload.get('order_id'))})",
        ]
        return Notice(title=title, text="\n".join(plain), markdown="\n".join(markdown))

    def digest(self, payloads: Sequence[Mapping[str, Any]], language: Language) -> Notice:
        """One robot message naming every order of ``payloads`` (one line each), in order."""
        words = CATALOGUES[language]
        grids = sorted({self._grid_name(payload) for payload in payloads})
        title = words.labels.digest_title.format(
            count=len(payloads), grids=words.labels.list_separator.join(grids)
        )
        lines = [self._digest_line(payload, words) for payload in payloads]
        markdown = [f"### {escape_markdown(title)}", f"> {words.labels.digest_note}", *lines]
        return Notice(title=title, text="\n".join([title, *lines]), markdown="\n".join(markdown))

    def enriched(self, payload: Mapping[str, Any], language: Language) -> dict[str, Any]:
        """The machine payload plus ``language``, ``title``, ``text``, ``names`` and ``link``."""
        notice = self.notice(payload, language)
        return {
            **payload,
            "language": language.value,
            "title": notice.title,
            "text": notice.text,
            "names": particulars(payload, self._site).names(),
            "link": self.link(payload.get("order_id")),
        }

    # Pieces ------------------------------------------------------------------------------------

    def _title(
        self, payload: Mapping[str, Any], words: Catalogue, found: Particulars, esc: Escape
    ) -> str:
        what = words.change(str(payload.get("change", "")))
        if payload.get("scope") in _INCIDENT_SCOPES:
            what = f"{words.labels.incident}{words.labels.separator}{what}"
        fault = words.fault(str(payload.get("fault_code", "")))
        return words.labels.title.format(what=what, fault=fault, place=esc(_place(payload, found)))

    def _lines(
        self, payload: Mapping[str, Any], words: Catalogue, found: Particulars, esc: Escape
    ) -> list[str]:
        labels, sep = words.labels, words.labels.separator
        reference = f"#{payload.get('order_id')}"
        lines = [
            labels.order.format(
                # Bold in markdown, where readers (and robots' users) look for the number first.
                reference=reference if esc is _plain else f"**{reference}**",
                severity=words.word(words.severities, payload.get("severity")),
                tier=words.word(words.tiers, payload.get("tier")),
                status=words.word(words.statuses, payload.get("status")),
            )
        ]
        where = [esc(part) for part in (found.building, found.address) if part]
        area = [esc(part) for part in (found.grid, found.community) if part]
        if where or area:
            lines.append(f"{labels.where}{labels.colon}{sep.join(where + area)}")
        if found.device:
            device = [esc(found.device)]
            if found.device_type:
                device.append(words.word(words.device_types, found.device_type))
            if found.device_location:
                device.append(esc(found.device_location))
            lines.append(f"{labels.device}{labels.colon}{sep.join(device)}")
        detail = str(payload.get("detail") or "")
        if detail:
            lines.append(f"{labels.measured}{labels.colon}{esc(words.measured(detail))}")
        cause = words.causes.get(str(payload.get("scope")))
        if cause:
            lines.append(f"{labels.likely_cause}{labels.colon}{cause}")
        deadline = self._deadline(payload, words)
        if deadline:
            lines.append(deadline)
        who = esc(found.assignee) if found.assignee else labels.unassigned
        if found.team:
            who = f"{who}{sep}{labels.team}{labels.colon}{esc(found.team)}"
        lines.append(f"{labels.assignee}{labels.colon}{who}")
        lines.extend(self._extras(payload, words, esc))
        at = local_time(payload.get("at"), self._timezone)
        if at:
            lines.append(labels.at.format(time=at))
        return lines

    def _deadline(self, payload: Mapping[str, Any], words: Catalogue) -> str | None:
        """The deadline that runs now: acknowledgement first, else resolution."""
        ack = local_time(payload.get("ack_due_at"), self._timezone)
        if ack:
            return words.labels.ack_by.format(deadline=ack)
        resolve = local_time(payload.get("resolve_due_at"), self._timezone)
        return words.labels.resolve_by.format(deadline=resolve) if resolve else None

    def _extras(self, payload: Mapping[str, Any], words: Catalogue, esc: Escape) -> list[str]:
        labels, extras = words.labels, []
        from_tier = payload.get("from_tier")
        if from_tier:
            extras.append(labels.from_tier.format(tier=words.word(words.tiers, from_tier)))
        department_id = payload.get("department_id")
        if department_id:
            department = self._site.departments.get(department_id) if self._site else None
            name = department.name if department is not None else str(department_id)
            extras.append(labels.department.format(department=esc(name)))
        occurrences = payload.get("occurrences")
        if isinstance(occurrences, int) and occurrences > 1:
            extras.append(labels.occurrences.format(count=occurrences))
        reason = str(payload.get("reason") or "")
        if reason:
            extras.append(f"{labels.reason}{labels.colon}{esc(reason)}")
        return extras

    def _digest_line(self, payload: Mapping[str, Any], words: Catalogue) -> str:
        found = particulars(payload, self._site)
        sep = words.labels.separator
        where = [escape_markdown(part) for part in (found.building, found.address) if part]
        parts = [
            f"- **#{payload.get('order_id')}** {words.fault(str(payload.get('fault_code', '')))}"
            f" ({words.word(words.severities, payload.get('severity'))},"
            f" {words.word(words.tiers, payload.get('tier'))})"
            f" {words.change(str(payload.get('change', '')))}",
            sep.join(where) or escape_markdown(_place(payload, found)),
        ]
        if found.device:
            parts.append(escape_markdown(found.device))
        assignee = escape_markdown(found.assignee) if found.assignee else words.labels.unassigned
        parts.append(f"{words.labels.assignee}{words.labels.colon}{assignee}")
        deadline = self._deadline(payload, words)
        if deadline:
            parts.append(deadline)
        parts.append(f"[{words.labels.open_link}]({self.link(payload.get('order_id'))})")
        return sep.join(parts)

    def _grid_name(self, payload: Mapping[str, Any]) -> str:
        grid_id = str(payload.get("grid_id"))
        grid = self._site.grids.get(grid_id) if self._site is not None else None
        return escape_markdown(grid.name if grid is not None else grid_id)


def _place(payload: Mapping[str, Any], found: Particulars) -> str:
    """The name people know the order's place by: community or street for wide incidents."""
    scope = payload.get("scope")
    if scope == "street" and found.street:
        return found.street
    if scope == "community" and found.community:
        return found.community
    return found.building or found.device or str(payload.get("grid_id") or "?")
