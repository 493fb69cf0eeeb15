"""Work-order notifications as robot markdown (WeCom, DingTalk), in the endpoint's language.

The words come from ``alerts.notifications.wording``: what happened, where (names and address
from the site file), what was measured, by when, who is on it, and a link to the crew view. A
digest folds many notifications for one robot into one message that names every order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.notifications.wording.compose import Wording
from storage.relational.outbox_models import Language


@dataclass(frozen=True, slots=True)
class RobotMessage:
    """A robot's markdown message (DingTalk lists ``title``; WeCom shows only ``text``)."""

    title: str
    text: str


def robot_message(payload: Mapping[str, Any], wording: Wording, language: Language) -> RobotMessage:
    """The message for one notification."""
    notice = wording.notice(payload, language)
    return RobotMessage(title=notice.title, text=notice.markdown)


def digest_message(
    payloads: Sequence[Mapping[str, Any]], wording: Wording, language: Language
) -> RobotMessage:
    """One message naming every order of ``payloads`` (one line each), oldest first."""
    notice = wording.digest(payloads, language)
    return RobotMessage(title=notice.title, text=notice.markdown)
