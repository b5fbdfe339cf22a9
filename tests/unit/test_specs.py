"""One spec per message kind: templates on disk, a sample that renders, a calendar method iff an .ics is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kim_workflow.email.ics import calendar_attachment
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.preview import sample_envelope
from kim_workflow.email.render import TEMPLATES_DIR, Renderer
from kim_workflow.email.samples import KOMMUNE_ADDRESS, MINISTRY_ADDRESS
from kim_workflow.email.specs import (
    SPECS,
    Audience,
    CalendarMethod,
    calendar_method,
    kind_label,
    meeting_method,
    sample_recipient,
    spec_of,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_one_spec_per_kind_with_distinct_labels() -> None:
    assert list(SPECS) == list(MessageKind)
    assert len({spec.label for spec in SPECS.values()}) == len(MessageKind)
    assert len({spec.template for spec in SPECS.values()}) == len(MessageKind)


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_has_templates_renders_its_sample_and_declares_its_calendar(
    renderer: Renderer, kind: MessageKind
) -> None:
    spec = SPECS[kind]
    assert all((TEMPLATES_DIR / name).is_file() for name in spec.template_files)
    rendered = renderer.render(kind, spec.sample)
    assert rendered.subject and rendered.text and rendered.html
    # the text promises a calendar file exactly when the spec declares one, and the envelope carries it
    assert ("Kalendereintrag" in rendered.text) == (spec.calendar_method is not None)
    envelope = sample_envelope(kind, rendered, sender="kim@mffki.rlp.example", reply_to=None, now=NOW)
    calendars = [a for a in envelope.attachments if a.content_type.startswith("text/calendar")]
    assert len(calendars) == (spec.calendar_method is not None)
    if spec.calendar_method is not None:
        assert f"method={spec.calendar_method.value};" in calendars[0].content_type
        assert f"METHOD:{spec.calendar_method.value}".encode() in calendars[0].content


def test_audiences() -> None:
    by_audience = {audience: {k for k, s in SPECS.items() if s.audience is audience} for audience in Audience}
    assert by_audience[Audience.MINISTRY] == {MessageKind.ESCALATION_DIGEST, MessageKind.KOMMUNE_UNREACHABLE}
    assert by_audience[Audience.OPERATORS] == {MessageKind.DELIVERY_FAILED, MessageKind.OPERATOR_ALERT}
    assert by_audience[Audience.INVITEES] == {k for k in MessageKind if k.value.startswith("meeting_")}
    assert sample_recipient(MessageKind.DELIVERY_FAILED) == MINISTRY_ADDRESS
    assert sample_recipient(MessageKind.MEETING_INVITATION) == KOMMUNE_ADDRESS


def test_lookups_by_value_and_calendar_helpers() -> None:
    assert spec_of("meeting_update") is SPECS[MessageKind.MEETING_UPDATE]
    assert kind_label("delivery_failed") == "Zustellprobleme (Betrieb)"
    assert calendar_method(MessageKind.DELIVERABLE_REMINDER) is CalendarMethod.PUBLISH
    assert meeting_method(MessageKind.MEETING_INVITATION) == "REQUEST"
    assert meeting_method(MessageKind.MEETING_CANCELLATION) == "CANCEL"
    with pytest.raises(ValueError, match="keine Kalenderdatei"):
        calendar_method(MessageKind.MEETING_REMINDER)
    with pytest.raises(ValueError, match="keine Termin-Nachricht"):
        meeting_method(MessageKind.DELIVERABLE_REMINDER)
    attachment = calendar_attachment(b"BEGIN:VCALENDAR", MessageKind.MEETING_CANCELLATION, "absage.ics")
    assert attachment.content_type.startswith("text/calendar; method=CANCEL")
