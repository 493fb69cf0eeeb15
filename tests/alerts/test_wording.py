"""Notifications in words: every kind in Chinese and English names the place, the person, the
deadline and the link; robot markdown cannot be formatted by a hostile name; the catalogue is
complete for every code the service knows."""

# Chinese text uses full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import typing
from dataclasses import replace

import pytest

from alerts.notifications.channels.text import digest_message, robot_message
from alerts.notifications.wording.compose import CATALOGUES, Wording, escape_markdown
from alerts.orders.changes import ChangeKind
from governance.model import Site, Tier
from governance.schema import StreetSpec
from sensors.catalogue import OFFLINE, Severity
from sensors.profiles import PROFILES
from storage.relational.models import OrderScope, OrderStatus
from storage.relational.outbox_models import Language
from tests.alerts.wording_support import (
    ACK_DUE_LOCAL,
    ADDRESS,
    ASSIGNEE,
    BUILDING_NAME,
    DEVICE_NAME,
    DEVICE_PLACE,
    PUBLIC_URL,
    RESOLVE_DUE_LOCAL,
    named_site,
    order_payload,
)

LINK = f"{PUBLIC_URL}/#/crew?order=12"
HOSTILE = 'Evil **bold** [click](https://evil.example) <font color="warning">x</font>\n### boom'


def _wording(**site_names: str) -> Wording:
    return Wording(site=named_site(**site_names), public_url=PUBLIC_URL)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", list(ChangeKind))
def test_every_kind_names_building_address_assignee_deadline_and_link(
    kind: ChangeKind, language: Language
) -> None:
    notice = _wording().notice(order_payload(kind), language)
    for text in (notice.text, notice.markdown):
        for needed in (BUILDING_NAME, ADDRESS, ASSIGNEE, ACK_DUE_LOCAL, LINK):
            assert needed in text, (kind, language, needed)
    # The change is said in words of the language, never as its identifier.
    assert CATALOGUES[language].changes[kind.value] in notice.title
    assert f"[{CATALOGUES[language].labels.open_link}]({LINK})" in notice.markdown


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (Language.ZH, ("短路", "严重", "电流(A)=7.5", "楼道灯", "请于 2025-03-01 16:15")),
        (Language.EN, ("short circuit", "major", "current (A)=7.5", "corridor light", "by 2025")),
    ],
)
def test_what_happened_and_what_was_measured_read_in_the_language(
    language: Language, words: tuple[str, ...]
) -> None:
    notice = _wording().notice(order_payload(), language)
    for word in words:
        assert word in notice.text, word
    assert DEVICE_NAME in notice.text and DEVICE_PLACE in notice.text
    assert "short_circuit" not in notice.text and "current_a" not in notice.text


def test_once_acknowledged_the_resolve_deadline_is_the_one_shown() -> None:
    payload = order_payload(ChangeKind.ACKNOWLEDGED, ack_due=False, status="acknowledged")
    notice = _wording().notice(payload, Language.EN)
    assert f"Resolve by {RESOLVE_DUE_LOCAL}" in notice.text
    assert "Acknowledge by" not in notice.text


@pytest.mark.parametrize(
    ("scope", "place", "cause"),
    [
        ("building", BUILDING_NAME, "its power supply, circuit or edge gateway"),
        ("community", "Community One", "the community's power supply or network"),
        ("street", "Test Street", "the MQTT broker, the network or the gateway"),
    ],
)
def test_an_incident_says_how_wide_and_its_likely_cause(scope: str, place: str, cause: str) -> None:
    payload = order_payload(scope=scope, fault_code=OFFLINE, detail="offline in 5 of 6 devices")
    english = _wording().notice(payload, Language.EN)
    assert english.title == f"Incident · New work order: device offline at {place}"
    assert f"Likely cause: {cause}" in english.text
    chinese = _wording().notice(payload, Language.ZH)
    assert chinese.title.startswith("片区故障 · 新工单：") and "设备离线" in chinese.title
    assert CATALOGUES[Language.ZH].causes[scope] in chinese.text


@pytest.mark.parametrize("language", list(Language))
def test_hostile_names_cannot_format_robot_markdown(language: Language) -> None:
    wording = _wording(building_name=HOSTILE, assignee=HOSTILE)
    payload = order_payload(reason=HOSTILE, detail=HOSTILE)
    message = robot_message(payload, wording, language)
    digest = digest_message([payload, payload], wording, language)
    for markdown in (message.text, digest.text):
        assert "**bold**" not in markdown and "](https://evil" not in markdown
        assert "<font" not in markdown and "\n### boom" not in markdown
        # Our own markup still works: one heading and the link to the crew view.
        assert markdown.count("### ") == 1 and f"]({LINK})" in markdown
        assert escape_markdown(HOSTILE) in markdown  # the name is shown, inert
    # Plain text (MQTT, webhooks) is not markdown: the name stays exactly as written.
    assert HOSTILE.replace("\n", " ") not in wording.notice(payload, language).text
    assert HOSTILE in wording.notice(payload, language).text


def test_escaping_keeps_ordinary_names_readable() -> None:
    assert escape_markdown("阳光舜城1号楼 (Bldg 1), 6 floors") == "阳光舜城1号楼 (Bldg 1), 6 floors"
    assert "\n" not in escape_markdown("line\nbreak") and "[" not in escape_markdown("[x](y)")


def test_the_machine_payload_keeps_its_fields_and_adds_words_names_and_link() -> None:
    payload = order_payload()
    enriched = _wording().enriched(payload, Language.ZH)
    assert {name: enriched[name] for name in payload} == payload
    assert set(enriched) - set(payload) == {"language", "title", "text", "names", "link"}
    assert enriched["names"] == {
        "building": BUILDING_NAME,
        "grid": "Grid One",
        "community": "Community One",
        "assignee": ASSIGNEE,
        "device": DEVICE_NAME,
    }
    assert (enriched["language"], enriched["link"]) == ("zh", LINK)
    assert enriched["title"].startswith("新工单：")


def test_without_a_site_the_words_fall_back_to_ids() -> None:
    notice = Wording(site=None, public_url=PUBLIC_URL).notice(order_payload(), Language.EN)
    assert notice.title == "New work order: short circuit at light-red"
    assert "On it: mem-1" in notice.text and LINK in notice.text


def test_the_default_language_is_the_site_files() -> None:
    site = named_site()
    assert Wording(site=site, public_url=PUBLIC_URL).language(None) is Language.ZH
    english = Wording(site=_with_language(site, "en"), public_url=PUBLIC_URL)
    assert english.language(None) is Language.EN
    assert english.language("zh") is Language.ZH


def _with_language(site: Site, language: str) -> Site:
    return replace(site, street=replace(site.street, language=language))


# The catalogue ------------------------------------------------------------------------------


def _fault_codes() -> set[str]:
    return {code for profile in PROFILES.values() for code in profile.faults} | {OFFLINE}


def _metric_names() -> set[str]:
    return {name for profile in PROFILES.values() for name in profile.metrics}


@pytest.mark.parametrize("language", list(Language))
def test_the_catalogue_has_words_for_everything_the_service_knows(language: Language) -> None:
    words = CATALOGUES[language]
    assert words.language is language
    assert set(words.changes) == {kind.value for kind in ChangeKind}
    assert set(words.faults) == _fault_codes()
    assert set(words.severities) == {severity.value for severity in Severity}
    assert set(words.tiers) == {tier.value for tier in Tier}
    assert set(words.statuses) == {status.value for status in OrderStatus}
    assert set(words.device_types) == set(PROFILES)
    assert set(words.metrics) == _metric_names()
    assert set(words.causes) == {scope.value for scope in OrderScope} - {"device"}
    assert all(text.strip() for table in (words.changes, words.faults) for text in table.values())


def test_the_two_catalogues_differ_where_words_are_meant() -> None:
    chinese, english = CATALOGUES[Language.ZH], CATALOGUES[Language.EN]
    assert not set(chinese.faults.values()) & set(english.faults.values())
    assert not set(chinese.changes.values()) & set(english.changes.values())


def test_the_site_file_offers_exactly_the_catalogue_languages() -> None:
    offered = typing.get_args(StreetSpec.model_fields["language"].annotation)
    assert set(offered) == {language.value for language in Language} == set(CATALOGUES)
