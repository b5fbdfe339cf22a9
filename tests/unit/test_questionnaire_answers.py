"""Answers: form text to typed values (German notation) at, below and above every bound; visibility by condition
and kind of Kommune; draft and final validation with German messages per question id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import Questionnaire
from kim_workflow.core.questionnaire_answers import (
    AnswerInvalid,
    AnswerProblem,
    answers_from_json,
    answers_to_json,
    convert,
    convert_answers,
    display,
    drop_hidden,
    expected,
    validate_answers,
    visible_questions,
)
from kim_workflow.core.questionnaire_file import parse_questionnaire
from kim_workflow.services.questionnaires import load_questionnaire

LK, STADT = KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT


@pytest.fixture(scope="module")
def q() -> Questionnaire:
    return load_questionnaire(2026)


def question(q: Questionnaire, question_id: str):  # type: ignore[no-untyped-def]
    found = q.question(question_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("question_id", "raw", "value"),
    [
        ("gremien.netzwerkrunden", "0", 0),
        ("gremien.netzwerkrunden", "99", 99),
        ("gremien.netzwerkrunden", " 12 ", 12),
        ("gremien.netzwerkrunden", "", None),
        ("konzept.beschlossen_jahr", "1.990", 1990),
        ("stelle.vzae", "0,01", Decimal("0.01")),
        ("stelle.vzae", "5", Decimal("5")),
        ("stelle.vzae", "1,5", Decimal("1.5")),
        ("stelle.vzae", "0.75", Decimal("0.75")),
        ("sachkosten.betrag", "1.234,56", Decimal("1234.56")),
        ("sachkosten.betrag", "100.000,00 €", Decimal("100000.00")),
        ("sachkosten.betrag", "0,01", Decimal("0.01")),
        ("sachkosten.betrag", "4250 EUR", Decimal("4250")),
        ("bestandsaufnahme.abgeschlossen_am", "15.12.2026", date(2026, 12, 15)),
        ("bestandsaufnahme.abgeschlossen_am", "1.1.2015", date(2015, 1, 1)),
        ("bestandsaufnahme.abgeschlossen_am", "2026-03-01", date(2026, 3, 1)),
        ("gremien.steuerungsgremium", "Ja", True),
        ("gremien.steuerungsgremium", "nein", False),
        ("konzept.status", "vorhanden", "vorhanden"),
        ("konzept.status", "Ja, es wird derzeit fortgeschrieben", "in_fortschreibung"),
        ("handlungsfelder.bearbeitet", ["sonstige", "wohnen"], ("wohnen", "sonstige")),
        ("handlungsfelder.bearbeitet", "wohnen,arbeitsmarkt", ("wohnen", "arbeitsmarkt")),
        ("handlungsfelder.bearbeitet", [], None),
        ("handlungsfelder.vernetzung", "1", 1),
        ("handlungsfelder.vernetzung", "5", 5),
        ("handlungsfelder.sonstige", "x" * 200, "x" * 200),
        ("unterstuetzung.bedarf", "Zeile 1\r\nZeile 2", "Zeile 1\nZeile 2"),
    ],
)
def test_form_text_becomes_a_typed_value(q: Questionnaire, question_id: str, raw: str, value: object) -> None:
    assert convert(question(q, question_id), raw) == value


@pytest.mark.parametrize(
    ("question_id", "raw", "message"),
    [
        ("gremien.netzwerkrunden", "-1", "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        ("gremien.netzwerkrunden", "100", "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        ("gremien.netzwerkrunden", "1,5", "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        ("gremien.netzwerkrunden", "zwölf", "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        ("gremien.netzwerkrunden", "9" * 40, "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        ("stelle.vzae", "0", "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen)."),
        ("stelle.vzae", "5,01", "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen)."),
        ("stelle.vzae", "0,125", "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen)."),
        ("stelle.vzae", "1.5.0", "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen)."),
        ("sachkosten.betrag", "0", "Bitte geben Sie einen Betrag in Euro zwischen 0,01 und 100.000,00 an."),
        ("sachkosten.betrag", "100.000,01", "Bitte geben Sie einen Betrag in Euro zwischen 0,01 und 100.000,00 an."),
        ("sachkosten.betrag", "12,345", "Bitte geben Sie einen Betrag in Euro zwischen 0,01 und 100.000,00 an."),
        ("sachkosten.betrag", "NaN", "Bitte geben Sie einen Betrag in Euro zwischen 0,01 und 100.000,00 an."),
        ("bestandsaufnahme.abgeschlossen_am", "31.12.2014",
         "Bitte geben Sie ein Datum zwischen 01.01.2015 und 31.12.2100 an (TT.MM.JJJJ)."),
        ("bestandsaufnahme.abgeschlossen_am", "30.02.2026", "Bitte geben Sie ein Datum zwischen"),
        ("bestandsaufnahme.abgeschlossen_am", "morgen", "Bitte geben Sie ein Datum zwischen"),
        ("gremien.steuerungsgremium", "vielleicht", "Bitte wählen Sie „Ja“ oder „Nein“."),
        ("konzept.status", "weiß nicht", "Bitte wählen Sie eine der angebotenen Möglichkeiten."),
        ("handlungsfelder.bearbeitet", ["wohnen", "garten"], "Bitte wählen Sie nur angebotene Möglichkeiten."),
        ("handlungsfelder.vernetzung", "0", "Bitte wählen Sie einen Wert von 1 bis 5."),
        ("handlungsfelder.vernetzung", "6", "Bitte wählen Sie einen Wert von 1 bis 5."),
        ("handlungsfelder.sonstige", "x" * 201, "Bitte fassen Sie sich kürzer: höchstens 200 Zeichen (jetzt 201)."),
        ("handlungsfelder.sonstige", "a\nb", "Bitte geben Sie hier nur eine Zeile ein."),
        ("unterstuetzung.bedarf", "a\x00b", "unzulässige Steuerzeichen"),
        ("unterstuetzung.bedarf", "\u202eabc", "unzulässige Steuerzeichen"),
        ("gremien.netzwerkrunden", ["1"], "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
    ],
)  # fmt: skip
def test_bad_form_text_is_refused_in_german(q: Questionnaire, question_id: str, raw: str, message: str) -> None:
    with pytest.raises(AnswerInvalid) as caught:
        convert(question(q, question_id), raw)
    assert message in str(caught.value)


def test_expected_texts_for_open_bounds() -> None:
    text = (
        'version = "1"\ntitle = "T"\n[[section]]\nid = "s"\ntitle = "S"\n'
        '[[section.question]]\nid = "s.a"\ntype = "integer"\ntext = "A"\nmin = 0\n'
        '[[section.question]]\nid = "s.b"\ntype = "integer"\ntext = "B"\nmax = 9\n'
        '[[section.question]]\nid = "s.c"\ntype = "integer"\ntext = "C"\n'
    )
    parsed = parse_questionnaire(text, source="t")
    assert [expected(q) for q in parsed.questions] == [
        "Bitte geben Sie eine ganze Zahl von mindestens 0 an.",
        "Bitte geben Sie eine ganze Zahl von höchstens 9 an.",
        "Bitte geben Sie eine ganze Zahl an.",
    ]
    assert convert(parsed.questions[2], "-12") == -12


def test_visibility_follows_conditions_and_the_kind_of_kommune(q: Questionnaire) -> None:
    def shown(answers: dict[str, object], kind: KommuneKind) -> set[str]:
        return {x.id for x in visible_questions(q, answers, kind)}  # type: ignore[arg-type]

    base = shown({}, STADT)
    assert "gemeinden.einbindung" not in base and "gemeinden.einbindung" in shown({}, LK)
    assert "konzept.beschlossen_jahr" not in base
    assert "konzept.beschlossen_jahr" in shown({"konzept.status": "in_fortschreibung"}, STADT)
    assert "konzept.beschlossen_jahr" not in shown({"konzept.status": "geplant"}, STADT)
    assert "gremien.steuerungsgremium_sitzungen" in shown({"gremien.steuerungsgremium": True}, STADT)
    assert "gremien.steuerungsgremium_sitzungen" not in shown({"gremien.steuerungsgremium": False}, STADT)
    assert "handlungsfelder.sonstige" in shown({"handlungsfelder.bearbeitet": ("wohnen", "sonstige")}, STADT)
    assert "handlungsfelder.sonstige" not in shown({"handlungsfelder.bearbeitet": ("wohnen",)}, STADT)
    # a Stadt never sees gemeinden.anzahl, whatever it answered to the (hidden) question it depends on
    assert "gemeinden.anzahl" not in shown({"gemeinden.einbindung": "alle"}, STADT)
    assert "gemeinden.anzahl" in shown({"gemeinden.einbindung": "alle"}, LK)


def complete(kind: KommuneKind) -> dict[str, str | list[str]]:
    answers: dict[str, str | list[str]] = {
        "bestandsaufnahme.status": "in_arbeit", "konzept.status": "geplant", "gremien.steuerungsgremium": "nein",
        "gremien.netzwerkrunden": "4", "gremien.integrationskonferenzen": "1",
        "handlungsfelder.bearbeitet": ["wohnen"], "austausch.fachreferat_treffen": "4",
        "austausch.dbki_treffen": "3", "stelle.besetzung": "ganzjaehrig", "stelle.vzae": "1,0",
        "sachkosten.verwendet": "ja", "sachkosten.betrag": "4.250,00",
    }  # fmt: skip
    if kind is LK:
        answers["gemeinden.einbindung"] = "keine"
    return answers


@pytest.mark.parametrize("kind", [LK, STADT])
def test_a_complete_set_passes_the_final_check(q: Questionnaire, kind: KommuneKind) -> None:
    converted = convert_answers(q, complete(kind))
    assert converted.problems == []
    assert validate_answers(q, converted.values, kind, final=True) == []


def test_the_final_check_lists_every_missing_required_answer_the_draft_check_none(q: Questionnaire) -> None:
    answers = convert_answers(q, {"stelle.besetzung": "zeitweise", "sachkosten.verwendet": "ja"}).values
    assert validate_answers(q, answers, LK, final=False) == []
    missing = [p.question_id for p in validate_answers(q, answers, LK, final=True)]
    assert missing == [
        "bestandsaufnahme.status", "konzept.status", "gremien.steuerungsgremium", "gremien.netzwerkrunden",
        "gremien.integrationskonferenzen", "handlungsfelder.bearbeitet", "gemeinden.einbindung",
        "austausch.fachreferat_treffen", "austausch.dbki_treffen", "stelle.vzae", "stelle.vakanz_monate",
        "sachkosten.betrag",
    ]  # fmt: skip
    assert {p.message for p in validate_answers(q, answers, LK, final=True)} == {"Bitte beantworten Sie diese Frage."}


def test_answers_to_hidden_or_unknown_questions_and_bad_typed_values_are_problems(q: Questionnaire) -> None:
    answers = {"gemeinden.einbindung": "alle", "konzept.beschlossen_jahr": 2020, "x.y": "1",
               "gremien.netzwerkrunden": 100, "stelle.besetzung": "ganzjaehrig",
               "stelle.vzae": Decimal("0.125")}  # fmt: skip
    problems = validate_answers(q, answers, STADT, final=False)  # type: ignore[arg-type]
    assert problems == [
        AnswerProblem("x.y", "Diese Frage gibt es im Fragebogen nicht."),
        AnswerProblem("konzept.beschlossen_jahr",
                      "Diese Frage entfällt nach Ihrer Antwort auf „konzept.status“; bitte lassen Sie sie leer."),
        AnswerProblem("gremien.netzwerkrunden", "Bitte geben Sie eine ganze Zahl zwischen 0 und 99 an."),
        AnswerProblem("gemeinden.einbindung",
                      "Diese Frage richtet sich nur an Landkreise; bitte lassen Sie sie leer."),
        AnswerProblem("stelle.vzae",
                      "Bitte geben Sie eine Zahl zwischen 0,01 und 5 an (höchstens 2 Nachkommastellen)."),
    ]  # fmt: skip
    assert "gemeinden.einbindung" not in drop_hidden(q, answers, STADT)  # type: ignore[arg-type]
    assert convert_answers(q, {"x.y": "1"}).problems == [
        AnswerProblem("x.y", "Diese Frage gibt es im Fragebogen nicht.")
    ]


def test_json_round_trip_and_display(q: Questionnaire) -> None:
    values = convert_answers(q, {**complete(LK), "bestandsaufnahme.status": "abgeschlossen",
                                 "bestandsaufnahme.abgeschlossen_am": "01.03.2026",
                                 "handlungsfelder.vernetzung": "5"}).values  # fmt: skip
    stored = answers_to_json(values)
    assert stored["sachkosten.betrag"] == "4250.00" and stored["handlungsfelder.bearbeitet"] == ["wohnen"]
    assert answers_from_json(q, stored) == values
    assert display(question(q, "sachkosten.betrag"), values["sachkosten.betrag"]) == "4.250,00 €"
    assert display(question(q, "stelle.vzae"), values["stelle.vzae"]) == "1,00"
    assert display(question(q, "gremien.steuerungsgremium"), False) == "Nein"
    assert display(question(q, "bestandsaufnahme.abgeschlossen_am"), date(2026, 3, 1)) == "01.03.2026"
    assert display(question(q, "handlungsfelder.vernetzung"), 5) == "5 (sehr gut)"
    assert display(question(q, "konzept.status"), "geplant") == "Nein, ein Integrationskonzept ist geplant"
    assert display(question(q, "handlungsfelder.bearbeitet"), ("wohnen", "arbeitsmarkt")) == "Wohnen; Arbeitsmarkt"
