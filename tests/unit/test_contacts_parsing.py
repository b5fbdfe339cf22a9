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


def test_anrede_and_titel_columns_are_optional_and_stored_on_the_row() -> None:
    text = (
        "ags,name,email,role,anrede,titel\n"
        "07315000,Anna Müller,a@mainz.de,integration_manager,Frau,Dr.\n"
        "07315000,Jonas Schmidt,j@mainz.de,deputy,herr,\n"
        "07315000,Kim Weber,k@mainz.de,deputy,, Prof.  Dr. \n"
    )
    rows, errors = parse_contacts(text, KNOWN)
    assert errors == []
    assert [(r.anrede, r.titel) for r in rows] == [("Frau", "Dr."), ("Herr", None), (None, "Prof. Dr.")]


def test_columns_may_come_in_any_order() -> None:
    rows, errors = parse_contacts("Email,Anrede,Name,AGS,Role\na@mainz.de,Frau,Anna Müller,07315000,deputy\n", KNOWN)
    assert errors == [] and (rows[0].email, rows[0].anrede, rows[0].ags) == ("a@mainz.de", "Frau", "07315000")


@pytest.mark.parametrize(
    ("anrede", "titel", "expected"),
    [
        ("Divers", "", "Zeile 2: Anrede 'Divers' unzulässig (erlaubt: Frau oder Herr oder leer)"),
        ("Fr.", "", "Anrede 'Fr.' unzulässig"),
        ("", "Dr.\u0000", "titel: enthält einen Zeilenumbruch oder ein Steuerzeichen"),
        ("", "D" * 51, "Titel länger als 50 Zeichen"),
    ],
)
def test_a_bad_anrede_or_titel_is_refused_naming_the_line(anrede: str, titel: str, expected: str) -> None:
    text = f"ags,name,email,role,anrede,titel\n07315000,A,a@b.de,deputy,{anrede},{titel}\n"
    rows, errors = parse_contacts(text, KNOWN)
    assert rows == [] and expected in str(errors[0])


def test_semicolon_file_from_german_excel_with_bom_is_read() -> None:
    text = (
        "\ufeffags;name;email;role;anrede;titel\r\n"
        '07315000;"Müller; Anna";a@mainz.de;integration_manager;Frau;Dr.\r\n'
        ";DBKI Team;dbki@example.org;dbki;;\r\n"
    )
    rows, errors = parse_contacts(text, KNOWN)
    assert errors == []
    assert [(r.line, r.ags, r.name, r.role, r.titel) for r in rows] == [
        (2, "07315000", "Müller; Anna", ContactRole.INTEGRATION_MANAGER, "Dr."),
        (3, None, "DBKI Team", ContactRole.DBKI, None),
    ]


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("ags\tname\temail\trole", "gefunden: Tabulator"),
        ("ags|name|email|role", "gefunden: senkrechter Strich (|)"),
        ("ags;name;email", "gefunden: Semikolon (;)"),
        ("agsnameemailrole", "kein Trennzeichen gefunden"),
    ],
)
def test_an_unknown_separator_is_refused_naming_what_was_found_and_expected(header: str, found: str) -> None:
    with pytest.raises(ContactFileError) as info:
        parse_contacts(header + "\n", KNOWN)
    assert found in str(info.value) and "Komma (,) oder Semikolon (;)" in str(info.value)


@pytest.mark.parametrize(
    ("header", "message"),
    [("ags,name,email,role,telefon", "unbekannte Spalten ['telefon']"), ("ags,name,email,role,name", "doppelte")],
)
def test_unknown_or_doubled_columns_reject_the_file(header: str, message: str) -> None:
    with pytest.raises(ContactFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_contacts(header + "\n", KNOWN)


def test_an_ags_that_lost_its_leading_zero_in_excel_gets_a_hint() -> None:
    _, errors = parse_contacts(HEADER + "7315000,A,a@b.de,deputy\n", KNOWN)
    assert "führende Null verloren? gemeint ist wohl 07315000" in errors[0].message
