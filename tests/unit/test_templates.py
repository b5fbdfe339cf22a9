"""Every message kind renders (subject, text, HTML) from its sample context; values stay data, never markup or code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from jinja2 import UndefinedError

from kim_workflow.core.domain import DeliverableKind, Organiser
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.render import TEMPLATES_DIR, RenderedEmail, Renderer
from kim_workflow.email.specs import OPTIONAL_CONTEXT, SPECS

SAMPLE_CONTEXTS = {kind: spec.sample for kind, spec in SPECS.items()}
REQUIRED_CONTEXT = {kind: spec.required_context for kind, spec in SPECS.items()}

FOOTER = "Diese E-Mail wurde automatisch erstellt. Bei Fragen antworten Sie bitte auf diese Nachricht."
SENDER = "Ministerium für Familie, Frauen, Kultur und Integration Rheinland-Pfalz – Referat Integration"
GERMAN = re.compile(
    r"Erinnerung|Einladung|Absage|Protokoll|Bewilligung|Entscheidung|Eingangsbestätigung|Nachforderung|"
    r"Aufruf|Frist|Übersicht|Terminänderung|Zustellung|Änderung Ihrer Förderung|Widerruf|Zugang|Warnung"
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def render(renderer: Renderer, kind: MessageKind, **overrides: Any) -> RenderedEmail:
    return renderer.render(kind, {**SAMPLE_CONTEXTS[kind], **overrides})


def test_every_kind_has_a_template_required_keys_and_a_sample() -> None:
    assert set(SPECS) == set(MessageKind)
    for kind, spec in SPECS.items():
        assert spec.kind is kind and spec.label and spec.sample
        for name in spec.template_files:
            assert (TEMPLATES_DIR / name).is_file(), name


@pytest.mark.parametrize("kind", list(MessageKind))
def test_sample_context_holds_exactly_the_required_keys(kind: MessageKind) -> None:
    assert REQUIRED_CONTEXT[kind] <= set(SAMPLE_CONTEXTS[kind]) <= REQUIRED_CONTEXT[kind] | OPTIONAL_CONTEXT


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_renders_its_sample(renderer: Renderer, kind: MessageKind) -> None:
    email = renderer.render(kind, SAMPLE_CONTEXTS[kind])
    assert email.subject and email.subject == email.subject.strip()
    assert "\n" not in email.subject and "\r" not in email.subject
    assert GERMAN.search(email.subject), email.subject
    assert kind.value not in email.subject
    for body in (email.text, email.html):
        assert FOOTER in body and SENDER in body
        assert "None" not in body and "{{" not in body and "{%" not in body
        assert re.search(r"(Sehr geehrte|Guten Tag)", body)
    assert email.html.lstrip().startswith("<!DOCTYPE html>") and '<html lang="de">' in email.html
    assert "<" not in email.text.replace("<integration@", "")  # no markup in the text part


@pytest.mark.parametrize("kind", list(MessageKind))
def test_a_missing_value_raises(renderer: Renderer, kind: MessageKind) -> None:
    for key in REQUIRED_CONTEXT[kind]:
        context: Mapping[str, Any] = {k: v for k, v in SAMPLE_CONTEXTS[kind].items() if k != key}
        with pytest.raises(UndefinedError, match=key):
            renderer.render(kind, context)


def test_a_missing_nested_value_raises(renderer: Renderer) -> None:
    entry = dict(SAMPLE_CONTEXTS[MessageKind.ESCALATION_DIGEST]["entries"][0])
    del entry["ags"]
    with pytest.raises(UndefinedError):
        render(renderer, MessageKind.ESCALATION_DIGEST, entries=[entry])


def test_none_is_never_printed(renderer: Renderer) -> None:
    with pytest.raises(UndefinedError):
        render(renderer, MessageKind.DECISION_REJECTED, reason=None)


def test_values_are_escaped_in_html_and_never_evaluated(renderer: Renderer) -> None:
    email = render(
        renderer,
        MessageKind.DECISION_CHANGES_REQUESTED,
        recipient_name="Jonas <script>alert(1)</script>",
        recipient_anrede=None,
        recipient_titel=None,
        message="Bitte ergänzen: {{ 7*7 }} <b>fett</b>\n{% raw %}",
    )
    assert "<script>" not in email.html and "<b>fett</b>" not in email.html
    assert "Guten Tag Jonas &lt;script&gt;alert(1)&lt;/script&gt;," in email.html
    assert "Bitte ergänzen: {{ 7*7 }} &lt;b&gt;fett&lt;/b&gt;<br>\n{% raw %}" in email.html
    assert "Bitte ergänzen: {{ 7*7 }} <b>fett</b>\n{% raw %}" in email.text
    assert "Bitte ergänzen: 49" not in email.html + email.text


def test_jinja_syntax_in_a_subject_value_stays_literal(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.MEETING_INVITATION, title="{{ 7*7 }} & <Treffen>")
    assert "„{{ 7*7 }} & <Treffen>“" in email.subject
    assert "{{ 7*7 }} &amp; &lt;Treffen&gt;" in email.html


def test_only_web_links_become_links(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.MEETING_INVITATION, video_url='javascript:alert("x")')
    assert 'href="javascript' not in email.html
    assert "javascript:alert(&#34;x&#34;)" in email.html


@pytest.mark.parametrize("bad", ["Treffen\r\nBcc: victim@example.org", "Treffen\nzweite Zeile", "Tab\x00"])
def test_a_line_break_in_a_subject_value_raises(renderer: Renderer, bad: str) -> None:
    with pytest.raises(InvalidValueError):
        render(renderer, MessageKind.MEETING_INVITATION, title=bad)


def test_a_line_break_in_a_reference_raises(renderer: Renderer) -> None:
    with pytest.raises(InvalidValueError):
        render(renderer, MessageKind.APPLICATION_RECEIVED, reference="KIM-1\r\nX-Injected: 1")


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(14, "verbleiben noch 14 Tage"), (1, "Die Frist endet morgen."), (0, "Die Frist endet heute.")],
)
def test_deliverable_reminder_lists_items_due_date_and_days(renderer: Renderer, days: int, phrase: str) -> None:
    email = render(renderer, MessageKind.DELIVERABLE_REMINDER, days_remaining=days)
    assert email.subject == "Erinnerung: Jahresbericht und Fragebogen 2026 fällig am 15.12.2026"
    for body in (email.text, email.html):
        assert "Jahresbericht" in body and "Fragebogen" in body
        assert "Dienstag, 15. Dezember 2026" in body and phrase in body
        assert "kim@mffki.rlp.example" in body and "07339000" in body
    assert email.text.startswith("Sehr geehrte Frau Dr. Müller,\n")


def test_deliverable_reminder_with_one_item(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.DELIVERABLE_REMINDER, outstanding=[DeliverableKind.QUESTIONNAIRE])
    assert "Fragebogen" in email.text and "Jahresbericht" not in email.text


def test_overdue_notice_names_deadline_and_days(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.OVERDUE_NOTICE)
    assert "seit 7 Tagen überschritten" in email.text
    assert "Freitag, 8. Januar 2027" in email.html


def test_escalation_digest_is_a_table_of_kommunen(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.ESCALATION_DIGEST)
    assert email.text.startswith("Sehr geehrte Damen und Herren,")
    assert "2 Kommunen" in email.subject
    for value in ("07339000", "Landkreis Mainz-Bingen", "07211000", "Stadt Trier", "15.12.2026", "27 Tage"):
        assert value in email.text and value in email.html
    assert email.html.count("<tr>") >= 3 and "<th" in email.html
    assert "Jahresbericht und Fragebogen" in email.html


def test_escalation_digest_without_entries(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.ESCALATION_DIGEST, entries=[])
    assert "sämtliche Unterlagen vor" in email.text


def test_decision_approved_shows_german_amounts_and_message(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.DECISION_APPROVED)
    for body in (email.text, email.html):
        assert "60.000,00 €" in body and "20.000,00 €" in body and "80.000,00 €" in body
        assert "Nebenbestimmungen im Bescheid" in body
    assert "Nebenbestimmungen im Bescheid.<br>\nDie erste Rate" in email.html


def test_decision_rejected_shows_reason(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.DECISION_REJECTED, reason="Grund <1>")
    assert "Grund &lt;1&gt;" in email.html and "Grund <1>" in email.text


def test_meeting_invitation_shows_when_where_agenda_and_organiser(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.MEETING_INVITATION, organiser=Organiser.DBKI)
    for body in (email.text, email.html):
        assert "Mittwoch, 10. Juni 2026, 10:00–15:00 Uhr" in body
        assert "Vernetzungstreffen" in body and "Sitzungssaal 2.14" in body
        assert "https://meet.rlp.example/kim-vernetzung" in body
        assert "Erfahrungen aus dem ersten Förderjahr" in body and "DBKI" in body
        assert "Freitag, 29. Mai 2026" in body
    assert 'href="https://meet.rlp.example/kim-vernetzung"' in email.html


def test_meeting_without_place_or_video(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.MEETING_REMINDER, location=None, video_url=None, agenda=[], days_until=1)
    assert "Ort:" not in email.text and "Videokonferenz" not in email.text and "Tagesordnung" not in email.text
    assert "morgen" in email.text


def test_neutral_salutation_for_a_name_without_title(renderer: Renderer) -> None:
    email = render(
        renderer,
        MessageKind.SUBMISSION_CONFIRMATION,
        recipient_name="Alex Beispiel",
        recipient_anrede=None,
        recipient_titel=None,
    )
    assert email.text.startswith("Guten Tag Alex Beispiel,")
    assert "Guten Tag Alex Beispiel," in email.html


def test_submission_confirmation_when_complete_and_late(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.SUBMISSION_CONFIRMATION, still_outstanding=[], on_time=False)
    assert "nach Ablauf der Frist" in email.text and "alle Unterlagen" in email.text


@pytest.mark.parametrize(
    ("kind", "overrides", "line"),
    [
        (MessageKind.DELIVERABLE_REMINDER, {}, "Sehr geehrte Frau Dr. Müller,"),
        (MessageKind.MEETING_INVITATION, {}, "Sehr geehrter Herr Schmidt,"),
        (MessageKind.DECISION_APPROVED, {"recipient_anrede": None}, "Guten Tag Dr. Anna Müller,"),
        (MessageKind.DECISION_APPROVED, {"recipient_name": None}, "Sehr geehrte Damen und Herren,"),
        (MessageKind.ESCALATION_DIGEST, {}, "Sehr geehrte Damen und Herren,"),
    ],
)
def test_the_salutation_uses_anrede_titel_and_surname(
    renderer: Renderer, kind: MessageKind, overrides: dict[str, object], line: str
) -> None:
    email = render(renderer, kind, **overrides)
    assert email.text.startswith(line + "\n") and line in email.html


@pytest.mark.parametrize(
    ("kind", "overrides", "singular", "wrong"),
    [
        (MessageKind.DELIVERABLE_REMINDER, {"days_remaining": 2}, "verbleiben noch 2 Tage", "1 Tage"),
        (MessageKind.OVERDUE_NOTICE, {"days_overdue": 1}, "seit 1 Tag überschritten", "1 Tagen"),
        (MessageKind.APPLICATION_REMINDER, {"days_remaining": 2}, "in 2 Tagen", "1 Tagen"),
        (MessageKind.MEETING_REMINDER, {"days_until": 3}, "in 3 Tagen", "1 Tagen"),
        (
            MessageKind.ESCALATION_DIGEST,
            {"entries": [{**SAMPLE_CONTEXTS[MessageKind.ESCALATION_DIGEST]["entries"][0], "days_overdue": 1}]},
            "von 1 Kommune noch",
            "1 Kommunen",
        ),
    ],
)
def test_counts_take_the_matching_german_noun_form(
    renderer: Renderer, kind: MessageKind, overrides: dict[str, object], singular: str, wrong: str
) -> None:
    email = render(renderer, kind, **overrides)
    assert singular in email.text and singular in email.html
    assert wrong not in email.subject + email.text + email.html


def test_no_subject_repeats_a_word_and_no_german_text_holds_an_iso_date(renderer: Renderer) -> None:
    for kind in MessageKind:
        email = render(renderer, kind)
        words = [w.lower() for w in re.findall(r"[^\W\d_]+", email.subject)]
        assert len(words) == len(set(words)), email.subject
        text = re.sub(r"\S+\.(pdf|ics)\b", "", email.text)  # file names may carry ISO dates
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", email.subject + text), kind


def test_a_meeting_title_without_its_type_gets_the_type_in_the_subject(renderer: Renderer) -> None:
    email = render(renderer, MessageKind.MEETING_INVITATION, title="Jahresplanung 2027")
    assert email.subject == "Einladung: Vernetzungstreffen „Jahresplanung 2027“ am 10.06.2026"
