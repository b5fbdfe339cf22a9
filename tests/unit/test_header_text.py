"""The one rule for header text and the one for body text."""

from __future__ import annotations

import pytest

from kim_workflow.core.header_text import HeaderTextError, check_header_text, forbidden_in_header, normalise_body_text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Treffen\r\nBcc: x@y", "Zeilenumbruch"),
        ("Treffen\x00", "U+0000"),
        ("Treffen\x85Bcc: x@y", "U+0085"),
        ("Treffen\u2028Bcc: x@y", "U+2028"),
        ("Treffen\u2029", "U+2029"),
        ("Treffen \u202egnuztiS", "Textrichtung (U+202E)"),
        ("Treffen \u2066x\u2069", "Textrichtung (U+2066)"),
        ("Tref\u200bfen", "ohne Breite (U+200B)"),
        ("\ufeffTreffen", "ohne Breite (U+FEFF)"),
        ("=?utf-8?q?X=0D=0AReply-To:_evil@evil.example=0D=0ABcc:_x@y?=", "U+000D) (in einer kodierten"),
        ("=?utf-8?b?WA0KQmNjOiB4QHk=?=", "kodierten Zeichenfolge"),
        ("a=?utf-8?q?X=0A?=b", "kodierten Zeichenfolge"),
        ("=?utf-8?q?a=0D=0Ab c?=", "kodierten Zeichenfolge"),  # whitespace inside: the stdlib still decodes it
        ("=?utf-16?b?AA0ACg==?=", "kodierten Zeichenfolge"),
        ("=?utf-8?q?=3D=3Futf-8=3Fq=3FX=3D0A=3F=3D?=", "kodierten Zeichenfolge"),  # nested
        ("=?utf-8?q?=0D=0A\xa0", "=?"),  # unterminated: readers decode it all the same
        ("Kosten =?utf-8?q?=E2=82=AC?=", "=?"),  # harmless, but a mail program would show something else
    ],
)
def test_header_text_is_refused_with_a_german_reason(value: str, reason: str) -> None:
    with pytest.raises(HeaderTextError, match=r"^Titel: ") as caught:
        check_header_text(value, field="Titel")
    assert reason in str(caught.value)


@pytest.mark.parametrize("value", ["Netzwerktreffen Nord", "Protokoll_März.pdf", "„Fachtag“ – 2026?", "a = b ?"])
def test_ordinary_text_is_header_text(value: str) -> None:
    assert check_header_text(value, field="Titel") == value and forbidden_in_header(value) is None


def test_body_text_keeps_its_lines_normalised_to_lf_without_nul() -> None:
    assert normalise_body_text("a\r\nb\rc\x00d\u2028e\u2029f\x85g\n") == "a\nb\ncd\ne\nf\ng\n"
