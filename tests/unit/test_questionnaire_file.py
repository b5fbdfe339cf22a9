"""The questionnaire parser at every rule: each type, each bound, conditions, duplicate ids, unknown keys, and
every problem reported at once with its line, section and question."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.questionnaire import QuestionType
from kim_workflow.core.questionnaire_file import (
    QuestionnaireError,
    check_history,
    parse_questionnaire,
)
from kim_workflow.services.questionnaires import load_questionnaire, shipped_default_text

HEAD = """version = "2026-1"
title = "Testfragebogen"

[[section]]
id = "a"
title = "Abschnitt A"

[[section.question]]
id = "a.ja"
type = "yes_no"
text = "Gibt es das?"

[[section.question]]
id = "a.wahl"
type = "single_choice"
text = "Welche?"
options = [
    { code = "eins", label = "Eins" },
    { code = "zwei", label = "Zwei" },
]
"""


def with_question(body: str) -> str:
    return HEAD + '\n[[section.question]]\nid = "a.x"\n' + body.strip() + "\n"


def problems_of(text: str, year: int | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, source="test.toml", year=year)
    return [(p.line, p.where, p.message) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_base_file_is_valid() -> None:
    questionnaire = parse_questionnaire(HEAD, source="test.toml")
    assert questionnaire.version == "2026-1"
    assert [q.id for q in questionnaire.questions] == ["a.ja", "a.wahl"]
    assert questionnaire.question("a.wahl").option_codes == ("eins", "zwei")  # type: ignore[union-attr]
    assert questionnaire.question("a.ja").line == line_of(HEAD, 'id = "a.ja"') - 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "kind", "checks"),
    [
        ('type = "yes_no"\ntext = "T"', QuestionType.YES_NO, {}),
        ('type = "multiple_choice"\ntext = "T"\noptions = [{ code = "a", label = "A" }]', QuestionType.MULTIPLE_CHOICE,
         {"option_codes": ("a",)}),
        ('type = "integer"\ntext = "T"\nmin = -3\nmax = 99', QuestionType.INTEGER, {"min": -3, "max": 99}),
        ('type = "decimal"\ntext = "T"\nplaces = 1\nmin = 0.5\nmax = 10', QuestionType.DECIMAL,
         {"min": Decimal("0.5"), "max": Decimal(10), "places": 1}),
        ('type = "decimal"\ntext = "T"', QuestionType.DECIMAL, {"places": 2, "min": None}),
        ('type = "amount"\ntext = "T"\nmin = 0\nmax = 1000.5', QuestionType.AMOUNT,
         {"places": 2, "max": Decimal("1000.5")}),
        ('type = "date"\ntext = "T"\nmin = 2026-01-01\nmax = 2026-12-31', QuestionType.DATE,
         {"min": date(2026, 1, 1), "max": date(2026, 12, 31)}),
        ('type = "scale"\ntext = "T"', QuestionType.SCALE, {"scale_range": (1, 5), "labels": ()}),
        ('type = "scale"\ntext = "T"\nmin = 0\nmax = 10\nlabels = { 0 = "nie", 10 = "immer" }', QuestionType.SCALE,
         {"scale_range": (0, 10), "labels": ((0, "nie"), (10, "immer"))}),
        ('type = "short_text"\ntext = "T"', QuestionType.SHORT_TEXT, {"text_limit": 200}),
        ('type = "long_text"\ntext = "T"\nmax_length = 5000', QuestionType.LONG_TEXT, {"text_limit": 5000}),
        ('type = "long_text"\ntext = "T"\nhelp = "H"\nrequired = true\nsince = 2026\nunit = "Stück"',
         QuestionType.LONG_TEXT, {"help": "H", "required": True, "since": 2026, "unit": "Stück"}),
        ('type = "integer"\ntext = "T"\nkommune_kind = "landkreis"', QuestionType.INTEGER,
         {"kommune_kind": KommuneKind.LANDKREIS}),
    ],
)  # fmt: skip
def test_each_type_is_read_with_its_keys(body: str, kind: QuestionType, checks: dict[str, object]) -> None:
    question = parse_questionnaire(with_question(body), source="t").question("a.x")
    assert question is not None and question.type is kind
    for name, value in checks.items():
        assert getattr(question, name) == value, name


CHOICE = 'type = "single_choice"\ntext = "T"\n'


def options(*items: str) -> str:
    return "options = [\n" + "".join(f"  {{ {item} }},\n" for item in items) + "]"


BAD_QUESTIONS = [
    ('type = "yes_no"\ntext = "T"\ncolour = "red"', "colour", "unbekannter Schlüssel „colour“"),
    ('type = "text"\ntext = "T"', "type", "„type“ fehlt oder ist unbekannt"),
    ('type = "yes_no"', "a.x", "„text“ fehlt"),
    ('type = "yes_no"\ntext = "  "', "text", "„text“ fehlt"),
    ('type = "yes_no"\ntext = "T"\nrequired = "ja"', "required", "„required“ muss true oder false sein"),
    ('type = "yes_no"\ntext = "T"\nhelp = 3', "help", "„help“ muss ein Text sein"),
    ('type = "yes_no"\ntext = "T"\nsince = 1999', "since", "„since“ muss ein Jahr zwischen 2000 und 2100 sein"),
    ('type = "yes_no"\ntext = "T"\nsince = 2101', "since", "zwischen 2000 und 2100"),
    ('type = "yes_no"\ntext = "T"\nmin = 1', "min", "„min“ gilt nur für Zahlen"),
    ('type = "integer"\ntext = "T"\nmin = 1.5', "min", "„min“ muss eine ganze Zahl sein"),
    ('type = "integer"\ntext = "T"\nmin = 5\nmax = 4', "max", "„min“ (5) liegt über „max“ (4)"),
    ('type = "integer"\ntext = "T"\nmax = true', "max", "„max“ muss eine ganze Zahl sein"),
    ('type = "decimal"\ntext = "T"\nplaces = 1\nmax = 1.25', "max", "höchstens 1 Nachkommastellen"),
    ('type = "decimal"\ntext = "T"\nplaces = 7', "places", "„places“ muss eine ganze Zahl von 0 bis 6 sein"),
    ('type = "decimal"\ntext = "T"\nplaces = -1', "places", "von 0 bis 6"),
    ('type = "decimal"\ntext = "T"\nmin = "viel"', "min", "höchstens 2 Nachkommastellen"),
    ('type = "amount"\ntext = "T"\nplaces = 3', "places", "Beträge haben immer 2 Nachkommastellen"),
    ('type = "amount"\ntext = "T"\nmax = 0.001', "max", "höchstens 2 Nachkommastellen"),
    ('type = "amount"\ntext = "T"\nmin = 10\nmax = 9.99', "max", "liegt über „max“"),
    ('type = "date"\ntext = "T"\nmin = 2026', "min", "„min“ muss ein Datum sein"),
    ('type = "date"\ntext = "T"\nmin = 2026-02-01\nmax = 2026-01-31', "max", "liegt über „max“"),
    ('type = "scale"\ntext = "T"\nmin = 1\nmax = 1', "max", "eine Skala hat 2 bis 11 Stufen"),
    ('type = "scale"\ntext = "T"\nmin = 0\nmax = 11', "max", "2 bis 11 Stufen"),
    ('type = "scale"\ntext = "T"\nlabels = { 6 = "zu hoch" }', "labels", "Stufe „6“ liegt nicht auf der Skala"),
    ('type = "scale"\ntext = "T"\nlabels = { 1 = "" }', "labels", "hat keinen Text"),
    ('type = "scale"\ntext = "T"\nlabels = "x"', "labels", "„labels“ muss eine Tabelle sein"),
    ('type = "integer"\ntext = "T"\nlabels = { 1 = "a" }', "labels", "„labels“ gilt nur für Skalen"),
    ('type = "integer"\ntext = "T"\nmax_length = 5', "max_length", "„max_length“ gilt nur für Textfragen"),
    ('type = "short_text"\ntext = "T"\nmax_length = 0', "max_length", "von 1 bis 5000"),
    ('type = "long_text"\ntext = "T"\nmax_length = 5001', "max_length", "von 1 bis 5000"),
    ('type = "single_choice"\ntext = "T"', "a.x", "„options“ fehlt"),
    ('type = "single_choice"\ntext = "T"\noptions = [{ code = "a", label = "A" }]', "options",
     "mindestens 2 Einträge"),
    ('type = "multiple_choice"\ntext = "T"\noptions = []', "options", "mindestens 1 Einträge"),
    (CHOICE + options('code = "a", label = "A"', 'code = "a", label = "B"'), '{ code = "a", label = "B" }',
     "Auswahl-Code „a“ kommt doppelt vor"),
    (CHOICE + options('code = "a", label = "A"', 'code = "b", label = "A"'), 'code = "b"',
     "Auswahl-Text „A“ kommt doppelt vor"),
    (CHOICE + options('code = "A b", label = "A"', 'code = "b", label = "B"'), 'code = "A b"',
     "braucht code (a–z, 0–9, _) und label"),
    (CHOICE + options('code = "a", label = "A", x = 1', 'code = "b", label = "B"'), 'code = "a"',
     "unbekannter Schlüssel „x“"),
    ('type = "yes_no"\ntext = "T"\noptions = [{ code = "a", label = "A" }]', "options", "gilt nur für Auswahlfragen"),
    ('type = "yes_no"\ntext = "T"\nkommune_kind = "stadt"', "kommune_kind", "„landkreis“ oder „kreisfreie_stadt“"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.nope", is = true }', "when",
     "verweist auf die unbekannte Frage „a.nope“"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.x", is = true }', "when", "die erst danach kommt"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.ja", is = "ja" }', "when",
     "'ja' ist keine mögliche Antwort auf „a.ja“"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.wahl", is = ["eins", "drei"] }', "when",
     "'drei' ist keine mögliche Antwort auf „a.wahl“"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.wahl", is = true }', "when", "True ist keine mögliche"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.wahl" }', "when", "„when“ braucht die Form"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.wahl", is = [] }', "when", "„when“ braucht die Form"),
    ('type = "yes_no"\ntext = "T"\nwhen = { question = "a.wahl", is = "eins", or = 1 }', "when", "braucht die Form"),
    ('type = "yes_no"\ntext = "T"\nwhen = "a.ja"', "when", "„when“ braucht die Form"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "at", "fragment"), BAD_QUESTIONS)
def test_each_rule_is_reported_with_the_line_of_its_key(body: str, at: str, fragment: str) -> None:
    text = with_question(body)
    problems = problems_of(text)
    assert len(problems) == 1, problems
    line, where, message = problems[0]
    assert fragment in message
    assert where == "Frage a.x"
    expected = line_of(text, 'id = "a.x"') - 1 if at == "a.x" else line_of(text.split('id = "a.x"')[1], at)
    if at != "a.x":
        expected += line_of(text, 'id = "a.x"') - 1
    assert line == expected


def test_conditions_on_numbers_and_scales_check_the_range() -> None:
    base = HEAD + '\n[[section.question]]\nid = "a.n"\ntype = "integer"\ntext = "N"\nmin = 0\nmax = 3\n'
    base += '\n[[section.question]]\nid = "a.s"\ntype = "scale"\ntext = "S"\n'
    tail = '\n[[section.question]]\nid = "a.x"\ntype = "yes_no"\ntext = "T"\n'
    good = base + tail + 'when = { question = "a.n", is = 3 }\n'
    assert parse_questionnaire(good, source="t").question("a.x").condition.values == (3,)  # type: ignore[union-attr]
    for target, value in (("a.n", "4"), ("a.n", "-1"), ("a.s", "6"), ("a.s", "0")):
        text = base + tail + f'when = {{ question = "{target}", is = {value} }}\n'
        assert "keine mögliche Antwort" in problems_of(text)[0][2]
    text = base + '\n[[section.question]]\nid = "a.t"\ntype = "long_text"\ntext = "L"\n'
    text += tail + 'when = { question = "a.t", is = "x" }\n'
    assert "taugt nicht als Bedingung" in problems_of(text)[0][2]


def test_every_problem_of_a_file_is_reported_at_once_in_line_order() -> None:
    text = (
        'version = ""\ntitle = "T"\nauthor = "x"\n\n[[section]]\nid = "A"\ntitle = "A"\nextra = 1\n\n'
        '[[section.question]]\nid = "a.q"\ntype = "integer"\ntext = "Q"\nmin = 3\nmax = 1\n\n'
        '[[section.question]]\nid = "a.q"\ntype = "nope"\ntext = "Q"\n\n'
        '[[section.question]]\nid = "bad id"\ntype = "yes_no"\ntext = "Q"\nwhen = { question = "z.z", is = true }\n'
    )
    problems = problems_of(text)
    assert [(line, where) for line, where, _ in problems] == [
        (1, ""), (3, ""), (6, "Abschnitt A"), (8, "Abschnitt A"), (15, "Frage a.q"), (19, "Frage a.q"),
        (23, "Frage bad id"), (26, "Frage bad id"),
    ]  # fmt: skip
    error = QuestionnaireError("test.toml", [])
    assert str(error).startswith("Fragebogen test.toml: 0 Fehler")


def test_duplicate_question_ids_across_sections_and_duplicate_section_ids() -> None:
    text = HEAD + '\n[[section]]\nid = "a"\ntitle = "Noch einmal"\n'
    text += '\n[[section.question]]\nid = "a.ja"\ntype = "yes_no"\ntext = "T"\n'
    problems = problems_of(text)
    assert (line_of(text, 'title = "Noch einmal"') - 2, "", "Abschnitt-ID „a“ kommt doppelt vor") in problems
    second = len(text.splitlines()) - 3  # the [[section.question]] line of the second "a.ja"
    assert (second, "Frage a.ja", "die ID kommt doppelt vor (zuerst in Zeile 8)") in problems


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ('version = "2026-1"\ntitle = \n', "kein gültiges TOML", 2),
        ('title = "T"\n[[section]]\nid = "a"\ntitle = "A"\n', "„version“ fehlt", None),
        ('version = "x y"\ntitle = "T"\n[[section]]\n', "„version“ fehlt oder ist ungültig", 1),
        ('version = "1"\n[[section]]\nid = "a"\ntitle = "A"\n', "„title“ fehlt", None),
        ('version = "1"\ntitle = "T"\n', "keine Abschnitte", None),
        ('version = "1"\ntitle = "T"\nintro = 1\n[[section]]\nid = "a"\ntitle = "A"\n', "„intro“ muss ein Text", 3),
        ('version = "1"\ntitle = "T"\n[[section]]\nid = "a"\ntitle = "A"\n', "keine Fragen", 3),
        ('version = "1"\ntitle = "T"\nsection = [1]\n', "Abschnitt Nr. 1 ist keine Tabelle", None),
    ],
)
def test_file_level_rules(text: str, fragment: str, line: int | None) -> None:
    problems = problems_of(text)
    assert any(fragment in message and found == line for found, _, message in problems), problems


def test_a_help_text_in_a_multiline_string_does_not_move_the_lines() -> None:
    text = with_question('type = "integer"\ntext = """Zeile\nid = "falsch"\nmax = 3"""\nmin = 2\nmax = 1')
    [(line, _, message)] = problems_of(text)
    assert "liegt über" in message and line == len(text.splitlines())


def test_a_years_file_refuses_questions_introduced_later() -> None:
    text = with_question('type = "yes_no"\ntext = "T"\nsince = 2027')
    assert parse_questionnaire(text, source="t").question("a.x").since == 2027  # type: ignore[union-attr]
    assert "liegt nach dem Förderjahr 2026" in problems_of(text, year=2026)[0][2]
    assert parse_questionnaire(text, source="t", year=2027).question("a.x") is not None


def test_an_id_never_changes_its_type_across_years() -> None:
    earlier = parse_questionnaire(with_question('type = "integer"\ntext = "T"'), source="2025.toml")
    same = parse_questionnaire(with_question('type = "integer"\ntext = "Neu formuliert"'), source="2026.toml")
    changed = parse_questionnaire(with_question('type = "decimal"\ntext = "T"'), source="2026.toml")
    assert check_history(same, {2025: earlier}) == []
    [problem] = check_history(changed, {2024: same, 2025: earlier})
    assert problem.where == "Frage a.x" and "war 2024 eine Frage vom Typ „Ganze Zahl“" in problem.message
    assert "braucht eine neue ID" in problem.message


def test_the_shipped_default_is_valid_and_covers_the_concept() -> None:
    questionnaire = load_questionnaire(2026)
    assert questionnaire.version == "2026-1"
    assert parse_questionnaire(shipped_default_text(), source="x", year=2026).questions == questionnaire.questions
    ids = {q.id for q in questionnaire.questions}
    for expected in ("bestandsaufnahme.status", "konzept.status", "gremien.netzwerkrunden",
                     "gremien.integrationskonferenzen", "handlungsfelder.bearbeitet", "gemeinden.einbindung",
                     "oeffentlichkeit.massnahmen", "austausch.dbki_treffen", "stelle.vzae", "stelle.vakanz_monate",
                     "sachkosten.betrag", "unterstuetzung.bedarf"):  # fmt: skip
        assert expected in ids
    assert {q.type for q in questionnaire.questions} == set(QuestionType)
    konzept = questionnaire.question("konzept.status")
    assert konzept is not None and {"vorhanden", "in_fortschreibung", "geplant"} <= set(konzept.option_codes)
    fields = questionnaire.question("handlungsfelder.bearbeitet")
    assert fields is not None and fields.option_codes == (
        "wohnen", "sprache_bildung", "migrationsberatung", "arbeitsmarkt", "interkulturelle_oeffnung", "sonstige",
    )  # fmt: skip
    gemeinden = [q for q in questionnaire.questions if q.section == "gemeinden"]
    assert gemeinden and all(q.kommune_kind is KommuneKind.LANDKREIS for q in gemeinden)
