"""The evaluation core: wide table, codebook, per-question summaries (answered / missing / skipped / not
applicable kept apart, split by kind) and the change against an earlier year on the same Kommune panel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pytest

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation import Respondent, YearAnswers, codebook, header, wide_rows
from kim_workflow.core.evaluation_change import compare
from kim_workflow.core.evaluation_markdown import evaluation_markdown
from kim_workflow.core.evaluation_summary import summarise
from kim_workflow.core.evaluation_tables import evaluate, percent_text, rounded
from kim_workflow.core.questionnaire import AnswerValue, Questionnaire
from kim_workflow.core.questionnaire_file import parse_questionnaire
from kim_workflow.core.redaction import REMOVED, scrub, scrub_text

LK, STADT = KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT

SMALL = """
version = "t-1"
title = "Test"

[[section]]
id = "s"
title = "Abschnitt"

[[section.question]]
id = "s.sachkosten"
type = "yes_no"
text = "Sachkosten verwendet?"
required = true

[[section.question]]
id = "s.betrag"
type = "amount"
text = "Betrag?"
required = true
min = 0.01
max = 100000
when = { question = "s.sachkosten", is = true }

[[section.question]]
id = "s.felder"
type = "multiple_choice"
text = "Handlungsfelder?"
options = [{ code = "wohnen", label = "Wohnen" }, { code = "arbeit", label = "Arbeitsmarkt" }]

[[section.question]]
id = "s.gemeinden"
type = "integer"
text = "Gemeinden?"
required = true
min = 1
max = 99
kommune_kind = "landkreis"

[[section.question]]
id = "s.neu"
type = "scale"
text = "Neue Frage?"
since = 2027
"""


@pytest.fixture(scope="module")
def q() -> Questionnaire:
    return parse_questionnaire(SMALL, source="test")


def year(
    q: Questionnaire, *answers: tuple[str, KommuneKind, Mapping[str, AnswerValue] | None], at: int = 2027
) -> YearAnswers:
    return YearAnswers(at, q, tuple(Respondent(ags, f"K {ags}", kind, a) for ags, kind, a in answers))


Answers = dict[str, AnswerValue]
YES_1234: Answers = {"s.sachkosten": True, "s.betrag": Decimal("1234.56")}
CASES = [
    # name, answers, question, group, (submitted, answered, missing, skipped, not applicable)
    ("empty year", [], "s.betrag", None, (0, 0, 0, 0, 0)),
    ("one answer", [("1", STADT, YES_1234)], "s.betrag", None, (1, 1, 0, 0, 0)),
    ("no submission", [("1", STADT, None)], "s.betrag", None, (0, 0, 0, 0, 0)),
    ("condition hides", [("1", STADT, {"s.sachkosten": False})], "s.betrag", None, (1, 0, 0, 0, 1)),
    ("hidden answer ignored", [("1", STADT, {"s.sachkosten": False, "s.betrag": Decimal(5)})], "s.betrag", None,
     (1, 0, 0, 0, 1)),
    ("required and asked, unanswered", [("1", STADT, {"s.sachkosten": True})], "s.betrag", None, (1, 0, 1, 0, 0)),
    ("optional unanswered", [("1", STADT, YES_1234)], "s.felder", None, (1, 0, 0, 1, 0)),
    ("kind hides", [("1", STADT, YES_1234)], "s.gemeinden", None, (1, 0, 0, 0, 1)),
    ("kind asks", [("1", LK, YES_1234)], "s.gemeinden", None, (1, 0, 1, 0, 0)),
    ("split by kind: Landkreis", [("1", LK, YES_1234), ("2", STADT, YES_1234)], "s.betrag", LK, (1, 1, 0, 0, 0)),
    ("split by kind: Stadt", [("1", LK, YES_1234), ("2", STADT, None)], "s.betrag", STADT, (0, 0, 0, 0, 0)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "answers", "question_id", "group", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_kommune_counts_in_exactly_one_category(
    q: Questionnaire,
    name: str,
    answers: list[tuple[str, KommuneKind, Answers | None]],
    question_id: str,
    group: KommuneKind | None,
    expected: tuple[int, ...],
) -> None:
    summary = summarise(year(q, *answers)).of(question_id, group)
    got = (summary.submitted, summary.answered, summary.missing, summary.skipped, summary.not_applicable)
    assert got == expected
    assert summary.answered + summary.missing + summary.skipped + summary.not_applicable == summary.submitted


def test_amounts_are_summarised_exactly_as_decimals(q: Questionnaire) -> None:
    amounts = ["0.01", "0.02", "100000.00", "1234.56"]
    given: list[Answers] = [{"s.sachkosten": True, "s.betrag": Decimal(a)} for a in amounts]
    data = year(q, *((str(i), STADT, a) for i, a in enumerate(given)))
    numbers = summarise(data).of("s.betrag").numbers
    assert numbers is not None
    assert numbers.total == Decimal("101234.59")
    assert numbers.mean == Decimal("25308.6475")
    assert numbers.median == Decimal("617.29")
    assert (numbers.minimum, numbers.maximum, numbers.n) == (Decimal("0.01"), Decimal("100000.00"), 4)


def test_a_year_without_answers_has_no_numbers_and_zero_shares(q: Questionnaire) -> None:
    summary = summarise(year(q))
    assert summary.of("s.betrag").numbers is None
    assert [c.share for c in summary.of("s.sachkosten").distribution] == [Decimal(0), Decimal(0)]


def test_multiple_choice_counts_each_option_over_those_who_answered(q: Questionnaire) -> None:
    data = year(
        q,
        ("1", STADT, {"s.sachkosten": False, "s.felder": ("wohnen", "arbeit")}),
        ("2", STADT, {"s.sachkosten": False, "s.felder": ("wohnen",)}),
        ("3", STADT, {"s.sachkosten": False}),
    )
    counts = {c.code: (c.count, c.share) for c in summarise(data).of("s.felder").distribution}
    assert counts == {"wohnen": (2, Decimal(1)), "arbeit": (1, Decimal("0.5"))}


def test_the_wide_table_has_one_column_per_option_as_0_or_1(q: Questionnaire) -> None:
    data = year(q, ("1", LK, {"s.sachkosten": True, "s.betrag": Decimal("5.00"), "s.felder": ("arbeit",),
                              "s.gemeinden": 12}), ("2", STADT, None))  # fmt: skip
    assert header(q) == ["ags", "kommune", "art", "eingereicht", "s.sachkosten", "s.betrag", "s.felder:wohnen",
                         "s.felder:arbeit", "s.gemeinden", "s.neu"]  # fmt: skip
    assert wide_rows(data) == [
        ["1", "K 1", "Landkreis", 1, 1, Decimal("5.00"), 0, 1, 12, None],
        ["2", "K 2", "kreisfreie Stadt", 0, None, None, None, None, None, None],
    ]
    book = {e.column: e for e in codebook(q)}
    assert list(book) == header(q)[4:]
    assert book["s.felder:arbeit"].allowed == "1 = „Arbeitsmarkt“ gewählt, 0 = nicht gewählt"
    assert book["s.gemeinden"].asked == "nur Landkreise"
    assert book["s.betrag"].unit == "EUR" and book["s.neu"].since == 2027


def test_the_change_uses_only_kommunen_that_answered_in_both_years(q: Questionnaire) -> None:
    before = year(q, ("1", STADT, {"s.sachkosten": True, "s.betrag": Decimal("100.00")}),
                  ("2", STADT, {"s.sachkosten": False}),
                  ("3", LK, {"s.sachkosten": True, "s.betrag": Decimal("900.00")}), at=2026)  # fmt: skip
    now = year(q, ("1", STADT, {"s.sachkosten": True, "s.betrag": Decimal("150.00")}),
               ("2", STADT, {"s.sachkosten": True, "s.betrag": Decimal("5000.00")}),
               ("3", LK, {"s.sachkosten": True, "s.betrag": Decimal("1000.00")}))  # fmt: skip
    changes = {(c.question_id, c.group): c for c in compare(now, before)}
    amount = changes[("s.betrag", None)]
    assert (amount.panel, amount.mean_before, amount.mean_now, amount.mean_change) == (
        2, Decimal("500"), Decimal("575"), Decimal("75"))  # fmt: skip
    assert amount.median_change == Decimal("75")
    assert changes[("s.betrag", STADT)].mean_change == Decimal("50")
    yes = changes[("s.sachkosten", None)].shares[0]
    assert (yes.code, yes.before, yes.now) == ("ja", Decimal(2) / 3, Decimal(1))


def test_a_question_introduced_this_year_has_no_earlier_value(q: Questionnaire) -> None:
    before = year(q, ("1", STADT, {"s.sachkosten": False, "s.neu": 3}), at=2026)
    now = year(q, ("1", STADT, {"s.sachkosten": False, "s.neu": 4}))
    change = next(c for c in compare(now, before) if c.question_id == "s.neu" and c.group is None)
    assert change.earlier_asked is False
    assert (change.panel, change.mean_change, change.shares) == (0, None, ())
    kept = next(c for c in compare(now, before) if c.question_id == "s.sachkosten" and c.group is None)
    assert kept.earlier_asked is True and kept.panel == 1


def test_a_question_missing_from_the_earlier_questionnaire_has_no_earlier_value(q: Questionnaire) -> None:
    older = parse_questionnaire(SMALL.split('[[section.question]]\nid = "s.betrag"')[0], source="alt")
    before = YearAnswers(2026, older, (Respondent("1", "K 1", STADT, {"s.sachkosten": True}),))
    now = year(q, ("1", STADT, YES_1234))
    change = next(c for c in compare(now, before) if c.question_id == "s.betrag" and c.group is None)
    assert not change.earlier_asked


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (Decimal("1.005"), 2, Decimal("1.01")),  # above the places: half up
        (Decimal("1.004"), 2, Decimal("1.00")),
        (Decimal("1.25"), 2, Decimal("1.25")),  # at: unchanged
        (Decimal("1.5"), 2, Decimal("1.5")),  # below: unchanged (no invented zeros)
        (Decimal(2) / 3, 4, Decimal("0.6667")),
    ],
)
def test_rounding_for_display_only_touches_values_with_more_places(value: Decimal, places: int, shown: Decimal) -> None:
    assert str(rounded(value, places)) == str(shown)


@pytest.mark.parametrize(
    ("share", "text"),
    [(Decimal(0), "0,0 %"), (Decimal(1), "100,0 %"), (Decimal(1) / 3, "33,3 %"), (Decimal("0.99995"), "100,0 %")],
)
def test_shares_are_shown_as_german_percent(share: Decimal, text: str) -> None:
    assert percent_text(share) == text


def test_the_artifact_shows_response_and_one_line_per_question(q: Questionnaire) -> None:
    data = year(q, ("1", LK, {**YES_1234, "s.felder": ("wohnen",), "s.gemeinden": 3}), ("2", STADT, None))
    markdown = evaluation_markdown(evaluate(data), today=date(2027, 1, 5))
    assert markdown.startswith("# Fragebogen 2027: Auswertung, Stand 05.01.2027\n")
    assert "- alle: **1** von 2 eingereicht" in markdown and "- kreisfreie Städte: **0** von 1 eingereicht" in markdown
    assert "| `s.betrag` | 1 | 0 | 0 | Mittelwert 1.234,56, Median 1.234,56 |" in markdown
    assert "| `s.felder` | 1 | 0 | 0 | Wohnen 100,0 % |" in markdown
    assert "| `s.neu` | 0 | 0 | 0 |  |" in markdown


ADDRESS_CASES = [
    ("anna.meier@kreis-mayen.example", REMOVED),
    ("an Anna <a.b+c@stadt.example>, bitte", f"an Anna <{REMOVED}>, bitte"),
    ("IM@XN--MNCHEN-3YA.DE", REMOVED),
    ("kein @ hier", "kein @ hier"),
    ("07315000", "07315000"),
    ("user@localhost", "user@localhost"),  # no dot in the domain: not an address a mail server routes
]


@pytest.mark.parametrize(("text", "scrubbed"), ADDRESS_CASES)
def test_addresses_are_removed_from_text(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed


def test_addresses_are_removed_at_any_depth_and_from_keys() -> None:
    payload = {"a": [{"b": ("x@y.example", 3)}], "to@x.example": None, "n": 5, "ok": True}
    assert scrub(payload) == {"a": [{"b": [REMOVED, 3]}], REMOVED: None, "n": 5, "ok": True}
