"""Writing every message kind, rendered with its sample context, to files a person can open (``kim emails preview``)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from kim_workflow.email.formatting import deliverable_label, join_de
from kim_workflow.email.ics import calendar_attachment, deadline_event, meeting_event
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment, Envelope, address_only, build_message, domain_of
from kim_workflow.email.render import RenderedEmail, Renderer
from kim_workflow.email.specs import SPECS, CalendarMethod, meeting_method, sample_recipient

_SAMPLE_MEETING_UID = "kim-meeting-sample@kim.rlp.de"
_MEETING_SEQUENCE: Mapping[MessageKind, int] = {
    MessageKind.MEETING_INVITATION: 0,
    MessageKind.MEETING_UPDATE: 1,
    MessageKind.MEETING_CANCELLATION: 2,
}

AttachmentBuilder = Callable[[MessageKind, Mapping[str, Any], str, datetime], Attachment]


def _deadline_attachment(kind: MessageKind, context: Mapping[str, Any], sender: str, now: datetime) -> Attachment:
    items = join_de(deliverable_label(item) for item in context["outstanding"])
    content = deadline_event(
        uid=f"kim-deadline-{context['cycle_year']}-{context['ags']}@kim.rlp.de",
        summary=f"Abgabefrist KIM: {items} {context['cycle_year']}",
        description=f"{context['kommune_name']} (AGS {context['ags']}): {items} an {context['submission_address']}",
        due=context["due_date"],
        sequence=0,
        dtstamp=now,
    )
    return calendar_attachment(content, kind, "frist.ics")


def _meeting_attachment(kind: MessageKind, context: Mapping[str, Any], sender: str, now: datetime) -> Attachment:
    method = meeting_method(kind)
    agenda = context.get("agenda") or []
    content = meeting_event(
        uid=_SAMPLE_MEETING_UID,
        summary=context["title"],
        description="\n".join(f"{number}. {item}" for number, item in enumerate(agenda, start=1)),
        start=context["start"],
        end=context["end"],
        location=context.get("location"),
        url=context.get("video_url"),
        organizer_email=address_only(sender),
        organizer_name="Referat Integration, MFFKI",
        attendee_email=sample_recipient(kind),
        sequence=_MEETING_SEQUENCE[kind],
        method=method,
        dtstamp=now,
    )
    return calendar_attachment(content, kind, "termin.ics")


# The calendar file of a preview, by the METHOD the kind's spec declares.
ATTACHMENT_BUILDERS: Mapping[CalendarMethod, AttachmentBuilder] = {
    CalendarMethod.PUBLISH: _deadline_attachment,
    CalendarMethod.REQUEST: _meeting_attachment,
    CalendarMethod.CANCEL: _meeting_attachment,
}


def sample_envelope(
    kind: MessageKind,
    rendered: RenderedEmail,
    *,
    sender: str,
    reply_to: str | None,
    now: datetime,
    timezone: str = "Europe/Berlin",
) -> Envelope:
    """The envelope of a preview message, with the calendar attachment the kind carries (if any)."""
    spec = SPECS[kind]
    method = spec.calendar_method
    attachments = (ATTACHMENT_BUILDERS[method](kind, spec.sample, sender, now),) if method else ()
    return Envelope(
        sender=sender,
        recipient=sample_recipient(kind),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=f"<preview-{kind.value}@{domain_of(address_only(sender))}>",
        date=now,
        reply_to=reply_to,
        attachments=attachments,
        timezone=timezone,
    )


def write_previews(
    out_dir: Path, renderer: Renderer, *, sender: str, reply_to: str | None, now: datetime
) -> list[Path]:
    """Write ``<kind>.html``, ``<kind>.txt`` and ``<kind>.eml`` for every kind plus ``index.html``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    subjects: dict[MessageKind, str] = {}
    for kind in MessageKind:
        rendered = renderer.render(kind, SPECS[kind].sample)
        subjects[kind] = rendered.subject
        envelope = sample_envelope(
            kind, rendered, sender=sender, reply_to=reply_to, now=now, timezone=renderer.timezone
        )
        written += [
            _write(out_dir / f"{kind.value}.html", rendered.html.encode("utf-8")),
            _write(out_dir / f"{kind.value}.txt", rendered.text.encode("utf-8")),
            _write(out_dir / f"{kind.value}.eml", build_message(envelope).as_bytes()),
        ]
    written.append(_write(out_dir / "index.html", _index(subjects).encode("utf-8")))
    return written


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _index(subjects: Mapping[MessageKind, str]) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(SPECS[kind].label)}<br><code>{kind.value}</code></td>"
        f"<td>{html.escape(subject)}</td>"
        f'<td><a href="{kind.value}.html">HTML</a> · <a href="{kind.value}.txt">Text</a> · '
        f'<a href="{kind.value}.eml">E-Mail (.eml)</a></td></tr>'
        for kind, subject in subjects.items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="de">\n<head><meta charset="utf-8"><title>E-Mail-Vorschau kim-workflow</title>\n'
        "<style>body{font-family:Arial,sans-serif;margin:24px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:6px 10px;text-align:left;vertical-align:top}</style></head>\n"
        "<body>\n<h1>E-Mail-Vorschau</h1>\n<p>Alle Nachrichtenarten mit Beispieldaten.</p>\n"
        f"<table>\n<tr><th>Art</th><th>Betreff</th><th>Dateien</th></tr>\n{rows}\n</table>\n</body>\n</html>\n"
    )
