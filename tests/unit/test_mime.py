"""The fast wire form and the modern EmailMessage build give the same message."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kim_workflow.core.header_text import HeaderTextError, forbidden_in_header
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import (
    Attachment,
    Envelope,
    build_message,
    expected_headers,
    needs_smtputf8,
    wire_bytes,
)
from kim_workflow.email.render import Renderer
from kim_workflow.email.specs import SPECS

ENVELOPE = Envelope(
    sender="Kommunales Integrationsmanagement RLP <kim@mffki.rlp.de>",
    recipient="im@mainz.example",
    cc=("vertretung@mainz.example", "zweite@mainz.example"),
    reply_to="kim@mffki.rlp.de",
    subject="Erinnerung: Jahresbericht und Fragebogen 2026 fällig am 15.12.2026 – bitte prüfen Sie die Übersicht",
    text="Sehr geehrte Frau Müller,\n\nÄnderungen: " + "ä" * 200 + "\n",
    html="<p>Sehr geehrte Frau Müller,</p><p>" + "<b>ü</b>" * 100 + "</p>\n",
    message_id="<179560800360.6906.1782469648@mffki.rlp.de>",
    date=datetime(2026, 11, 3, 6, 0, tzinfo=UTC),
    attachments=(
        Attachment("abgabefrist.ics", "text/calendar; method=PUBLISH; charset=utf-8", b"BEGIN:VCALENDAR\r\n"),
    ),
)


def parsed(data: bytes) -> Any:
    return message_from_bytes(data, policy=policy.default)


def summary(message: EmailMessage) -> dict[str, Any]:
    headers = {k: str(message[k]) for k in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID",
                                            "Auto-Submitted", "X-Auto-Response-Suppress")}  # fmt: skip
    parts = [(p.get_content_type(), p.get_params(), p.get_filename(), p.get_content()) for p in message.walk()
             if not p.is_multipart()]  # fmt: skip
    return {"headers": headers, "parts": parts, "structure": [p.get_content_type() for p in message.walk()]}


def test_wire_bytes_and_build_message_agree() -> None:
    fast = parsed(wire_bytes(ENVELOPE))
    modern = parsed(build_message(ENVELOPE).as_bytes(policy=policy.SMTP))
    assert summary(fast) == summary(modern)
    assert fast["Subject"] == ENVELOPE.subject
    assert fast.get_body(("plain",)).get_content().replace("\r\n", "\n") == ENVELOPE.text


def test_wire_bytes_use_crlf_and_short_lines() -> None:
    data = wire_bytes(ENVELOPE)
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


@pytest.mark.parametrize("field", ["subject", "recipient", "sender"])
def test_header_injection_is_refused_on_both_paths(field: str) -> None:
    values = {name: getattr(ENVELOPE, name) for name in ENVELOPE.__dataclass_fields__}
    values[field] = "x@y.example\r\nBcc: victim@z.example"
    bad = Envelope(**values)
    with pytest.raises(InvalidValueError):
        wire_bytes(bad)
    with pytest.raises(InvalidValueError):
        build_message(bad)


BODY_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85")
    | st.sampled_from("\n\t "),
    max_size=400,
)
ADDRESS = st.from_regex(r"[a-z][a-z0-9.]{0,20}@[a-z]{1,10}\.example", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    subject=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=200),
    text=BODY_TEXT,
    html=BODY_TEXT,
    cc=st.lists(ADDRESS, max_size=6),
    attachment=st.none() | st.binary(max_size=300),
)
def test_wire_bytes_agree_with_build_message_for_any_content(
    subject: str, text: str, html: str, cc: list[str], attachment: bytes | None
) -> None:
    """Generated subjects, bodies, Cc lists and attachments: the fast path parses to the same message."""
    assume(subject.strip() == subject and subject)  # the header registry strips surrounding whitespace
    assume(forbidden_in_header(subject) is None)  # refused text (zero-width, bidi, "=?") is tested above
    attachments = () if attachment is None else (Attachment("t.ics", "text/calendar; method=REQUEST", attachment),)
    envelope = replace(ENVELOPE, subject=subject, text=text, html=html, cc=tuple(cc), attachments=attachments)
    data = wire_bytes(envelope)
    assert summary(parsed(data)) == summary(parsed(build_message(envelope).as_bytes(policy=policy.SMTP)))
    assert parsed(data)["Subject"] == subject
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")


def test_non_ascii_addresses_take_the_reference_path() -> None:
    envelope = replace(ENVELOPE, recipient="müller@mainz.example", cc=())
    assert summary(parsed(wire_bytes(envelope)))["headers"]["To"] == "müller@mainz.example"


@pytest.mark.parametrize(
    ("recipients", "utf8"),
    [
        (["im@mainz.example"], False),
        (["im@xn--mnchen-3ya.de", "cc@kreis.de"], False),  # IDN domains are stored as A-labels
        (["im@mainz.example", "müller@mainz.example"], True),  # one non-ASCII local part is enough
    ],
)
def test_smtputf8_is_decided_by_the_recipients_only(recipients: list[str], utf8: bool) -> None:
    assert needs_smtputf8(recipients) is utf8
    envelope = replace(ENVELOPE, recipient=recipients[0], cc=tuple(recipients[1:]))
    assert (b"m\xc3\xbcller" in wire_bytes(envelope)) is utf8  # raw UTF-8 headers only under SMTPUTF8


@pytest.mark.parametrize(
    ("moment", "timezone", "header"),
    [
        (datetime(2026, 11, 3, 6, 0, tzinfo=UTC), "Europe/Berlin", "Tue, 03 Nov 2026 07:00:00 +0100"),
        (datetime(2026, 6, 10, 8, 30, tzinfo=UTC), "Europe/Berlin", "Wed, 10 Jun 2026 10:30:00 +0200"),
        (datetime(2026, 6, 10, 8, 30), "Europe/Berlin", "Wed, 10 Jun 2026 10:30:00 +0200"),  # naive: UTC
        (datetime(2026, 6, 10, 8, 30, tzinfo=UTC), "UTC", "Wed, 10 Jun 2026 08:30:00 +0000"),
    ],
)
def test_the_date_header_is_in_the_programme_time_zone_on_both_paths(
    moment: datetime, timezone: str, header: str
) -> None:
    envelope = replace(ENVELOPE, date=moment, timezone=timezone)
    fast, modern = wire_bytes(envelope), build_message(envelope).as_bytes(policy=policy.SMTP)
    assert f"\r\nDate: {header}\r\n".encode() in fast and f"\r\nDate: {header}\r\n".encode() in modern
    assert parsed(fast)["Date"].datetime == moment.replace(tzinfo=moment.tzinfo or UTC)


ENCODED_INJECTION = "=?utf-8?q?X=0D=0AReply-To:_evil@evil.example=0D=0ABcc:_x@y?="


@pytest.mark.parametrize(
    "change",
    [
        {"subject": f"Einladung: {ENCODED_INJECTION}"},
        {"subject": "Einladung \u202eneztiS"},
        {"subject": "Einla\u200bdung"},
        {"subject": "Einladung\u2028Bcc: x@y.example"},
        {"sender": f"{ENCODED_INJECTION} <kim@mffki.rlp.de>"},
        {"attachments": (Attachment(f"Protokoll_März{ENCODED_INJECTION}.pdf", "application/pdf", b"x"),)},
        {"attachments": (Attachment("Protokoll\r\nBcc: x@y.pdf", "application/pdf", b"x"),)},
    ],
)
def test_header_text_with_encoded_or_invisible_breaks_is_refused_on_both_paths(change: dict[str, Any]) -> None:
    bad = replace(ENVELOPE, **change)
    with pytest.raises(HeaderTextError):
        wire_bytes(bad)
    with pytest.raises(HeaderTextError):
        build_message(bad)


HEADER_PIECES = st.sampled_from(["=?utf-8?q?", "=?utf-8?b?", "=0D=0A", "DQo=", "?=", "Bcc: x@y", "ä", "„", " ", "\r\n",
                                 "\u2028", "\u202e", "\u200b", ENCODED_INJECTION])  # fmt: skip
HEADER_TEXT = st.lists(HEADER_PIECES | st.text(max_size=3), min_size=1, max_size=8).map("".join)


@settings(max_examples=int(os.environ.get("HEADER_FUZZ_EXAMPLES", "300")), deadline=None)
@given(subject=HEADER_TEXT, filename=HEADER_TEXT, non_ascii_recipient=st.booleans())
def test_any_header_text_is_refused_or_parses_into_exactly_the_headers_set(
    subject: str, filename: str, non_ascii_recipient: bool
) -> None:
    """Both build paths (and the fast path's fallback): refused with HeaderTextError, or exactly these headers."""
    envelope = replace(
        ENVELOPE,
        subject=subject,
        recipient="müller@mainz.example" if non_ascii_recipient else ENVELOPE.recipient,
        attachments=(Attachment(filename, "application/pdf", b"%PDF"),),
    )
    builds = [lambda: wire_bytes(envelope), lambda: build_message(envelope).as_bytes(policy=policy.SMTPUTF8)]
    for build in builds:
        try:
            data = build()
        except HeaderTextError:
            assert forbidden_in_header(subject) or forbidden_in_header(filename)
            continue
        message = parsed(data)
        assert sorted(message.keys()) == sorted(expected_headers(envelope))
        assert message["Subject"].strip() == subject.strip()  # surrounding blanks are not content
        assert [(p.get_filename() or "").strip() for p in message.iter_attachments()] == [filename.strip()]


LONG_NAMES = ("Mainz", "Landkreis Südliche Weinstraße", "Eifelkreis Bitburg-Prüm – Kreisverwaltung Bitburg" * 2)


@pytest.mark.parametrize("name", LONG_NAMES)
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_template_subject_encodes_directly_and_decodes_to_itself(kind: MessageKind, name: str) -> None:
    """Each kind's subject, with short and very long Kommune names: RFC 2047 words that decode back exactly."""
    context = dict(SPECS[kind].sample)
    context.update({key: name for key in ("kommune_name", "kommune") if key in context})
    subject = Renderer().render(kind, context).subject
    data = wire_bytes(replace(ENVELOPE, subject=subject))
    header = data.split(b"\r\nDate: ")[0].split(b"Subject: ", 1)[1]
    assert all(len(line) <= 76 for line in header.split(b"\r\n"))
    assert all(len(word) <= 75 for word in header.split() if word.startswith(b"=?"))
    assert parsed(data)["Subject"] == subject
