"""The shape of a message catalogue: every word a notification uses, in one language.

One :class:`Catalogue` per language (``zh.py``, ``en.py``); a test checks that each names every
change kind, fault code, severity, tier, status and facility type the service knows, so a new
code cannot reach a phone as a bare identifier in one language only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from storage.relational.outbox_models import Language

#: A metric name as the fault rules write it in a detail: ``<name>=<value>``.
_METRIC = re.compile(r"\b([a-z][a-z0-9_]*)=")


@dataclass(frozen=True, slots=True, kw_only=True)
class Labels:
    """Fixed phrases and line templates (``str.format`` fields named in each comment)."""

    incident: str  # title prefix of an order about many devices (building, community, street)
    where: str  # "where"
    device: str  # "device"
    measured: str  # "what was measured" / detail
    likely_cause: str  # "likely cause"
    ack_by: str  # {deadline}: acknowledge before it
    resolve_by: str  # {deadline}: resolve before it
    assignee: str  # "who is on it"
    unassigned: str  # nobody yet
    order: str  # {reference} {severity} {tier} {status}: the order's line
    team: str  # "team"
    reason: str  # a person's note, or why it escalated / was handed back
    from_tier: str  # {tier}: where it came from (escalated, handed back)
    department: str  # {department}: the department concerned
    occurrences: str  # {count}: how often the fault came
    open_link: str  # text of the link to the crew view
    at: str  # {time}: when it happened
    title: str  # {what} {fault} {place}: one line naming the change, fault and place
    digest_title: str  # {count} {grids}: heading of a digest
    digest_note: str  # why several updates came as one message
    separator: str  # between items on one line
    list_separator: str  # between names in a list
    colon: str  # between a label and its value


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """Every word of notifications in one language."""

    language: Language
    changes: Mapping[str, str]  # change kind → what happened
    faults: Mapping[str, str]  # fault code → words
    severities: Mapping[str, str]
    tiers: Mapping[str, str]
    statuses: Mapping[str, str]
    device_types: Mapping[str, str]
    causes: Mapping[str, str]  # incident scope (building, community, street) → likely cause
    metrics: Mapping[str, str]  # metric name → words with unit
    labels: Labels

    def fault(self, code: str) -> str:
        """Words for a fault code; a code the catalogue lacks reads as itself."""
        return self.faults.get(code) or code.replace("_", " ")

    def change(self, kind: str) -> str:
        """Words for a change kind; an unknown kind reads as itself."""
        return self.changes.get(kind) or kind.replace("_", " ")

    def measured(self, detail: str) -> str:
        """A reading's detail (``pressure_kpa=30.0 (< 50)``) with metric names in words."""
        return _METRIC.sub(lambda match: self.metrics.get(match[1], match[1]) + "=", detail)

    @staticmethod
    def word(table: Mapping[str, str], key: object) -> str:
        """``table[key]`` for a known key, else the key itself (never an error on a phone)."""
        text = str(key) if key is not None else "—"
        return table.get(text, text)
