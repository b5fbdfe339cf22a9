"""Building the MIME message of one email (used by the dispatcher and the preview)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache
from zoneinfo import ZoneInfo

from kim_workflow.core.header_text import HeaderTextError, check_header_text, forbidden_in_header


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    content: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content_b64": base64.b64encode(self.content).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Attachment:
        return cls(data["filename"], data["content_type"], base64.b64decode(data["content_b64"]))


@dataclass(frozen=True, slots=True)
class Envelope:
    """Everything the wire needs; every header value is checked (:mod:`kim_workflow.core.header_text`) before use."""

    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime
    reply_to: str | None = None
    cc: Sequence[str] = ()
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    timezone: str = "Europe/Berlin"  # zone of the Date header (the programme's, settings.timezone)

    @property
    def all_recipients(self) -> list[str]:
        return [self.recipient, *self.cc]


def date_header(envelope: Envelope) -> str:
    """The Date value in the envelope's time zone (``Tue, 01 Dec 2026 10:30:00 +0100``); naive times count as UTC."""
    moment = envelope.date if envelope.date.tzinfo else envelope.date.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(ZoneInfo(envelope.timezone)))


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID, fixed when the outbox row is created."""
    return make_msgid(domain=domain)


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >")


def needs_smtputf8(recipients: Iterable[str]) -> bool:
    """Whether a message to ``recipients`` goes out as SMTPUTF8: the one place that decides, both for the headers
    (:func:`wire_bytes`) and for the ``MAIL FROM … SMTPUTF8`` the dispatcher asks for. Domains are stored as
    A-labels (``xn--``), so only a non-ASCII local part needs it."""
    return not all(address.isascii() for address in recipients)


def build_message(envelope: Envelope) -> EmailMessage:
    """A multipart/alternative (text + HTML) message with attachments and the automation headers."""
    _check_headers(envelope)
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = envelope.recipient
    if envelope.cc:
        message["Cc"] = ", ".join(envelope.cc)
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Subject"] = envelope.subject
    message["Date"] = date_header(envelope)
    message["Message-ID"] = envelope.message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(envelope.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(envelope.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in envelope.attachments:
        _attach(message, attachment)
    _check_parsed_headers(message)
    return message


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    maintype, _, rest = attachment.content_type.partition("/")
    subtype, *params = (part.strip() for part in rest.split(";"))
    extra = dict(p.split("=", 1) for p in params if "=" in p)
    message.add_attachment(
        attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename, params=extra
    )


def address_only(value: str) -> str:
    """The bare address of ``"Name <a@b>"`` or ``a@b``."""
    if "<" in value:
        return value.rsplit("<", 1)[1].rstrip(">").strip()
    return Address(addr_spec=value.strip()).addr_spec


WIRE_LINE = 78


def wire_bytes(envelope: Envelope) -> bytes:
    """The message as sent (CRLF, lines of at most 78 characters), assembled directly from bytes.

    The stdlib generator folds and re-encodes every header and quoted-printable-encodes bodies in pure Python
    (~1 ms for a typical reminder); here the bodies go through the C encoders of :mod:`binascii` and the few
    headers are folded once (cached for repeated subjects). Same headers, parts and encodings as
    :func:`build_message` (tests parse both and compare, for generated input too). Messages this fast path does
    not cover (non-ASCII addresses, non-ASCII or quoted attachment names) are built with :func:`build_message`.
    """
    _check_headers(envelope)
    if not _fast_path_fits(envelope):  # non-ASCII addresses go out as SMTPUTF8 (the sender asks for it)
        utf8 = needs_smtputf8(envelope.all_recipients)
        data = build_message(envelope).as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
        return _only_expected_headers(data, envelope)
    token = hashlib.sha256(envelope.message_id.encode()).hexdigest()[:24]
    # "=_" never occurs in quoted-printable or base64 bodies, so these boundaries cannot clash with the content.
    alternative = f"=_kim_alt_{token}".encode()
    lines = [
        b"From: " + _address_header(envelope.sender),
        _address_list(b"To", [envelope.recipient]),
    ]
    if envelope.cc:
        lines.append(_address_list(b"Cc", list(envelope.cc)))
    if envelope.reply_to:
        lines.append(b"Reply-To: " + _address_header(envelope.reply_to))
    lines += [
        _subject_header(envelope.subject),
        b"Date: " + date_header(envelope).encode("ascii"),
        b"Message-ID: " + envelope.message_id.encode("ascii"),
        b"Auto-Submitted: auto-generated",
        b"X-Auto-Response-Suppress: All",
        b"MIME-Version: 1.0",
    ]
    body = [
        _text_part(envelope.text, b"plain"),
        _text_part(envelope.html, b"html"),
    ]
    if not envelope.attachments:
        lines.append(_multipart_type(b"alternative", alternative))
        return _only_expected_headers(b"\r\n".join(lines) + b"\r\n\r\n" + _multipart_body(alternative, body), envelope)
    mixed = f"=_kim_mix_{token}".encode()
    inner = _multipart_type(b"alternative", alternative) + b"\r\n\r\n" + _multipart_body(alternative, body)
    parts = [inner, *(_attachment_part(a) for a in envelope.attachments)]
    lines.append(_multipart_type(b"mixed", mixed))
    return _only_expected_headers(b"\r\n".join(lines) + b"\r\n\r\n" + _multipart_body(mixed, parts), envelope)


_SAFE_PARAMETER = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def _fast_path_fits(envelope: Envelope) -> bool:
    addresses = [envelope.recipient, *envelope.cc, address_only(envelope.sender)]
    if envelope.reply_to:
        addresses.append(address_only(envelope.reply_to))
    return (
        all(a.isascii() for a in addresses)
        and envelope.message_id.isascii()
        and all(_SAFE_PARAMETER.fullmatch(a.filename) and a.content_type.isascii() for a in envelope.attachments)
    )


@lru_cache(maxsize=64)
def _address_header(value: str) -> bytes:
    name, address = parseaddr(value)
    return (formataddr((name, address), charset="utf-8") if name else address).encode("ascii")


def _address_list(name: bytes, addresses: list[str]) -> bytes:
    """``Name: a, b, c`` folded between addresses when a line would exceed 78 characters."""
    line, folded = name + b":", []
    for index, address in enumerate(addresses):
        item = b" " + address.encode("ascii") + (b"," if index < len(addresses) - 1 else b"")
        if len(line) + len(item) > WIRE_LINE and line.strip(b" ,") != name + b":":
            folded.append(line)
            line = b""
        line += item
    return b"\r\n".join([*folded, line])


_WORD_OPEN, _WORD_CLOSE = b"=?utf-8?b?", b"?="
_FIRST_CHUNK = (75 - len(b"Subject: ") - 12) // 4 * 3  # raw bytes per encoded word on the first line (39)
_NEXT_CHUNK = (75 - 12) // 4 * 3  # on a continuation line after the folding blank (45)


@lru_cache(maxsize=256)
def _subject_header(subject: str) -> bytes:
    """``Subject:`` as is when it is short ASCII, else as RFC 2047 "B" encoded words, one per folded line.

    Built directly (UTF-8 cut at character boundaries, base64 by :mod:`binascii`): the stdlib ``Header`` measures
    quoted-printable and base64 for every word in pure Python, ~100 µs per unique subject. Lines stay at most
    76 characters, each encoded word at most 75 (RFC 2047 §2); decoders join adjacent words without the blanks.
    """
    if subject.isascii() and len(subject) + 9 <= WIRE_LINE:
        return b"Subject: " + subject.encode("ascii")
    words, raw, limit = [], subject.encode("utf-8"), _FIRST_CHUNK
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        words.append(_WORD_OPEN + binascii.b2a_base64(raw[:cut], newline=False) + _WORD_CLOSE)
        raw, limit = raw[cut:], _NEXT_CHUNK
    return b"Subject: " + b"\r\n ".join(words)


def _multipart_type(subtype: bytes, boundary: bytes) -> bytes:
    return b"Content-Type: multipart/" + subtype + b';\r\n boundary="' + boundary + b'"'


def _multipart_body(boundary: bytes, parts: list[bytes]) -> bytes:
    separator = b"--" + boundary
    chunks = [separator + b"\r\n" + part for part in parts]
    return b"\r\n".join(chunks) + b"\r\n" + separator + b"--\r\n"


def _text_part(text: str, subtype: bytes) -> bytes:
    """A quoted-printable UTF-8 part; line breaks become CRLF (soft breaks keep lines at most 76 long)."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    if not normalised.endswith("\n"):
        normalised += "\n"
    encoded = binascii.b2a_qp(normalised.replace("\n", "\r\n").encode("utf-8"), istext=True)
    headers = b"Content-Type: text/" + subtype + b'; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    return headers + b"\r\n\r\n" + encoded


def _attachment_part(attachment: Attachment) -> bytes:
    maintype, _, rest = attachment.content_type.partition("/")
    subtype, *params = (part.strip() for part in rest.split(";"))
    content_type = f"{maintype}/{subtype}".encode("ascii")
    for key, value in (p.split("=", 1) for p in params if "=" in p):
        content_type += f';\r\n {key.strip()}="{value.strip().strip(chr(34))}"'.encode("ascii")
    encoded = base64.encodebytes(attachment.content).replace(b"\n", b"\r\n")
    return (
        b"Content-Type: " + content_type + b"\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="' + attachment.filename.encode("ascii") + b'"\r\n\r\n' + encoded
    )


def _check_headers(envelope: Envelope) -> None:
    """Every value that becomes a header (or a header parameter) is header text; raise ``HeaderTextError``."""
    for name, value in (
        ("From", envelope.sender),
        ("To", envelope.recipient),
        ("Subject", envelope.subject),
        ("Message-ID", envelope.message_id),
        ("Reply-To", envelope.reply_to or ""),
        *(("Cc", c) for c in envelope.cc),
        *(("Dateiname", a.filename) for a in envelope.attachments),
        *(("Content-Type", a.content_type) for a in envelope.attachments),
    ):
        check_header_text(value, field=name)


def _check_parsed_headers(message: EmailMessage) -> None:
    """The headers as the standard library holds them (encoded words decoded) are still header text."""
    for name, value in message.items():
        problem = forbidden_in_header(str(value))
        if problem is not None:
            raise HeaderTextError(f"{name}: {problem}")


def expected_headers(envelope: Envelope) -> list[str]:
    """The top-level header names, in order, of the message built from ``envelope`` (both paths)."""
    return list(_expected(bool(envelope.cc), bool(envelope.reply_to)))


@lru_cache(maxsize=4)
def _expected(cc: bool, reply_to: bool) -> tuple[str, ...]:
    names = ["From", "To", *(["Cc"] if cc else []), *(["Reply-To"] if reply_to else [])]
    return (*names, "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Auto-Response-Suppress", "MIME-Version",
            "Content-Type")  # fmt: skip


def _only_expected_headers(data: bytes, envelope: Envelope) -> bytes:
    """``data`` if its header block holds exactly the expected headers (no line of a value became a header).

    Counting the lines that do not begin with folding white space is enough (and cheap): our builders write each
    expected header once, so any further line can only come from a value."""
    block = data[: data.find(b"\r\n\r\n")]
    lines = block.count(b"\n") + 1 - block.count(b"\n ") - block.count(b"\n\t")
    expected = expected_headers(envelope)
    if lines != len(expected) or block.count(b"\r") != block.count(b"\n"):
        found = {line.split(b":", 1)[0].decode("ascii", "replace") for line in block.splitlines() if line[:1].strip()}
        extra = ", ".join(sorted(found - set(expected))) or "?"
        raise HeaderTextError(f"Nachricht hätte unerwartete Kopfzeilen ({extra}); nicht versendet")
    return data
