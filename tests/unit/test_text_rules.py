"""The one text rule and the single-address rule (pure)."""

from __future__ import annotations

from datetime import date
from email.utils import parseaddr

import pytest

from kim_workflow.core.validation import (
    InvalidValueError,
    check_header_safe,
    check_multiline_safe,
    check_single_address,
)
from kim_workflow.core.years import LAST_DAY, parse_iso_day
from kim_workflow.email.mime import address_only


@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\u2028", "\u0085", "\u202e", "\u2066", "\u200b", "\ufeff"])
def test_one_line_fields_refuse_breaks_bidi_overrides_and_zero_width_characters(char: str) -> None:
    with pytest.raises(InvalidValueError, match=r"Steuerzeichen|unsichtbares Zeichen"):
        check_header_safe(f"Müller{char}Schmidt", field="Name")


def test_free_text_keeps_line_breaks_but_not_bidi_overrides() -> None:
    assert check_multiline_safe("Punkt 1\nPunkt 2\tErgebnis", field="Text") == "Punkt 1\nPunkt 2\tErgebnis"
    with pytest.raises(InvalidValueError):
        check_multiline_safe("Punkt 1\u202e", field="Text")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kim@mffki.rlp.de", "kim@mffki.rlp.de"),
        ("MFFKI, Referat 72 <kim@mffki.rlp.de>", '"MFFKI, Referat 72" <kim@mffki.rlp.de>'),
        ('"MFFKI, Referat 72" <kim@mffki.rlp.de>', '"MFFKI, Referat 72" <kim@mffki.rlp.de>'),
        ("Integrationsmanagement RLP <kim@MFFKI.rlp.de>", "Integrationsmanagement RLP <kim@mffki.rlp.de>"),
    ],
)  # fmt: skip
def test_a_single_address_keeps_its_display_name_and_one_address(value: str, expected: str) -> None:
    checked = check_single_address(value, field="KIM_MAIL_FROM")
    assert checked == expected
    assert address_only(checked) == parseaddr(checked)[1] == expected.rsplit("<", 1)[-1].rstrip(">")


@pytest.mark.parametrize(
    "value",
    ["A <a@x.example>, B <evil@y.example>", "kim@x.example, evil@y.example", "kim@x.example evil@y.example",
     'A "B" <a@x.example>', "evil@y.example <kim@x.example>", "<>", "A <a@x.example> B"],
)  # fmt: skip
def test_lists_and_deceptive_names_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError):
        check_single_address(value, field="KIM_MAIL_FROM")


@pytest.mark.parametrize("value", ["20261215", "", " ", "2026-1-5", "9999-12-31", "1900-01-01", "2026-02-30"])
def test_dates_are_yyyy_mm_dd_within_the_programme(value: str) -> None:
    with pytest.raises(InvalidValueError):
        parse_iso_day(value)


def test_the_last_day_still_works_in_calendar_arithmetic() -> None:
    assert parse_iso_day(LAST_DAY.isoformat()) == LAST_DAY == date(2101, 12, 31)
