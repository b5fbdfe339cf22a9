from __future__ import annotations

import pytest

from kim_workflow.core.contacts import ContactFileError, parse_contacts
from kim_workflow.core.domain import ContactRole

KNOWN = {"07315000", "07111000"}
HEADER = "ags,name,email,role\n"


def test_valid_rows_are_normalised() -> None:
    rows, errors = parse_contacts(
        HEADER + "07315000, Frau Dr. Müller ,Mueller@Mainz.DE,integration_manager\n,DBKI Team,dbki@example.org,dbki\n",
        KNOWN,
    )
    assert errors == []
    assert [(r.ags, r.name, r.email, r.role) for r in rows] == [
        ("07315000", "Frau Dr. Müller", "Mueller@mainz.de", ContactRole.INTEGRATION_MANAGER),
        (None, "DBKI Team", "dbki@example.org", ContactRole.DBKI),
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("99999999,A,a@b.de,deputy", "unbekannter AGS"),
        ("07315000,A,not-an-email,deputy", "ungültige E-Mail"),
        ("07315000,A,a@b.de,boss", "unbekannte Rolle"),
        ('07315000,"A\nBcc: x@y.de",a@b.de,deputy', "Steuerzeichen"),
        ('07315000,A,"a@b.de\r",deputy', "Steuerzeichen"),
        (",A,a@b.de,integration_manager", "braucht einen AGS"),
        ("07315000,,a@b.de,deputy", "Name fehlt"),
        ("07315000,A,a@b.de", "Spaltenzahl"),
    ],
)
def test_each_kind_of_bad_row_is_reported(row: str, expected: str) -> None:
    rows, errors = parse_contacts(HEADER + row + "\n", KNOWN)
    assert rows == []
    assert len(errors) == 1 and expected in errors[0].message and errors[0].line == 2


def test_duplicate_email_within_a_kommune_is_an_error_with_both_lines() -> None:
    text = HEADER + "07315000,A,a@b.de,integration_manager\n07315000,B,A@b.de,deputy\n"
    _, errors = parse_contacts(text, KNOWN)
    assert [(e.line, "Zeile 2" in e.message) for e in errors] == [(3, True)]


def test_a_wrong_header_rejects_the_whole_file() -> None:
    with pytest.raises(ContactFileError):
        parse_contacts("name,email\nA,a@b.de\n", KNOWN)
