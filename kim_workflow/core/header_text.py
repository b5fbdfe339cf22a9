"""One rule for text that can reach an email header, and one for free text bodies (pure).

Header text (subject parts, display names, attachment file names, calendar fields such as a meeting's title or
location) must hold no line break or control character (CR, LF, NUL, U+0085, U+2028, U+2029, C0/C1 controls), no
bidi control (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) and no zero-width character — neither as
typed nor after decoding RFC 2047 encoded words (``=?utf-8?q?X=0D=0ABcc:…?=``), which the standard library's
header parser decodes before it writes a header. Since readers decode even an unterminated encoded word (and the
standard library writes non-ASCII headers raw under SMTPUTF8), any "=?" is refused in header text. Bodies keep
their line breaks, normalised to LF, without NUL.
"""

from __future__ import annotations

import re
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header

from kim_workflow.core.validation import InvalidValueError

__all__ = ["HeaderTextError", "check_header_text", "forbidden_in_header", "normalise_body_text"]

_LINE_OR_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH = re.compile("[\u180e\u200b-\u200d\u2060-\u2064\ufeff]")
_ENCODED_WORD = re.compile(r"=\?[^?]+\?[qQbB]\?.*?\?=")  # lenient like the stdlib parser: spaces allowed
_SUSPECT = re.compile(  # every character the three classes above hold, in one class: one fast pass
    "[" + "".join(p.pattern[1:-1] for p in (_LINE_OR_CONTROL, _BIDI, _ZERO_WIDTH)) + "]"
)
_BODY_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
_MAX_DECODING_ROUNDS = 4


class HeaderTextError(InvalidValueError):
    """Text that must not reach an email header (the message is German and names the field)."""


def forbidden_in_header(value: str) -> str | None:
    """Why ``value`` cannot be header text (German), also after decoding encoded words; ``None`` if it can."""
    if "=?" not in value and not _SUSPECT.search(value):  # the common case: one pass (the builder checks every message)
        return None
    forms = _forms(value)
    for text, decoded in forms:
        problem = _problem(text)
        if problem is not None:
            return f"{problem} (in einer kodierten Zeichenfolge =?…?=)" if decoded else problem
    if "=?" in value:  # readers decode even an unterminated encoded word, also in raw UTF-8 headers
        return "enthält „=?“ (Beginn einer kodierten Zeichenfolge =?…?=), das Mailprogramme umdeuten würden"
    return None


def check_header_text(value: str, *, field: str) -> str:
    """Return ``value`` unchanged if it is safe header text, else raise :class:`HeaderTextError`."""
    problem = forbidden_in_header(value)
    if problem is not None:
        raise HeaderTextError(f"{field}: {problem}")
    return value


def normalise_body_text(value: str) -> str:
    """Free text for a body: line breaks (CRLF, CR, U+0085, U+2028, U+2029) become LF, NUL is removed."""
    return _BODY_BREAKS.sub("\n", value).replace("\x00", "")


def _problem(text: str) -> str | None:
    if match := _LINE_OR_CONTROL.search(text):
        return f"enthält einen Zeilenumbruch oder ein Steuerzeichen ({_code_point(match.group())})"
    if match := _BIDI.search(text):
        return f"enthält ein unsichtbares Zeichen zur Textrichtung ({_code_point(match.group())})"
    if match := _ZERO_WIDTH.search(text):
        return f"enthält ein unsichtbares Zeichen ohne Breite ({_code_point(match.group())})"
    return None


def _code_point(character: str) -> str:
    return f"U+{ord(character):04X}"


def _forms(value: str) -> list[tuple[str, bool]]:
    """``value`` and, while it holds encoded words, the text with them decoded (a few rounds: nested words)."""
    forms, text = [(value, False)], value
    if "=?" in value:
        forms.append((_as_stdlib_decodes(value), True))
    for _ in range(_MAX_DECODING_ROUNDS):
        if "=?" not in text:
            break
        decoded = _ENCODED_WORD.sub(_decoded_word, text)
        if decoded == text:
            break
        forms.append((decoded, True))
        text = decoded
    return forms


def _as_stdlib_decodes(value: str) -> str:
    """The value as the standard library's header parser reads it (what ``build_message`` would write)."""
    try:
        return str(policy.default.header_factory("Subject", value))
    except (
        ValueError,
        LookupError,
        IndexError,
        TypeError,
        HeaderParseError,
    ):  # the parser gives up: nothing it would write
        return ""


def _decoded_word(match: re.Match[str]) -> str:
    """One encoded word as text in its charset (Latin-1 if unknown), plus any raw ASCII control byte it holds,
    so that no charset can hide a CR/LF byte."""
    try:
        parts = decode_header(match.group())
    except (
        ValueError,
        LookupError,
        HeaderParseError,
    ):  # malformed base64 and the like: a decoder would leave it as it is
        return match.group()
    texts: list[str] = []
    for data, charset in parts:
        raw = data if isinstance(data, bytes) else data.encode("latin-1", "replace")
        try:
            texts.append(raw.decode((charset or "ascii").split("*", 1)[0], "replace"))
        except LookupError:
            texts.append(raw.decode("latin-1"))
        texts.append("".join(chr(byte) for byte in raw if byte < 0x20 or byte == 0x7F))
    return "".join(texts)
