"""A year's evaluation as tables with German headers (pure): what CSV, XLSX, HTML and the artifact show.

Cells stay typed (``int``, ``Decimal``, ``date``, text, ``None`` for empty); each writer formats them for its
medium. Shares are fractions (0.25), changes of shares fractions too; writers show them as percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation import Cell, YearAnswers, codebook, header, wide_rows
from kim_workflow.core.evaluation_change import QuestionChange, compare
from kim_workflow.core.evaluation_summary import GROUPS, YearSummary, summarise
from kim_workflow.core.money import german_decimal

GROUP_LABELS = {None: "alle", KommuneKind.LANDKREIS: "Landkreise", KommuneKind.KREISFREIE_STADT: "kreisfreie Städte"}
PERCENT_COLUMNS = frozenset({"Anteil", "Anteil vorher", "Anteil jetzt"})
"""Columns holding fractions (rounded to four places) that writers show as percent."""
MEAN_PLACES = 2
SHARE_PLACES = 4


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    """The sheet's name and the CSV file's suffix (``daten``, ``codebuch`` …)."""
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The evaluation of one year, compared with earlier years (each on its own Kommune panel)."""

    data: YearAnswers
    summary: YearSummary
    changes: tuple[QuestionChange, ...] = ()
    compared: tuple[int, ...] = field(default=())

    @property
    def year(self) -> int:
        return self.data.year


def evaluate(data: YearAnswers, earlier: Sequence[YearAnswers] = ()) -> Evaluation:
    changes = tuple(c for before in earlier for c in compare(data, before))
    return Evaluation(data, summarise(data), changes, tuple(before.year for before in earlier))


def data_table(evaluation: Evaluation) -> Table:
    return Table("daten", "Antworten je Kommune", tuple(header(evaluation.data.questionnaire)),
                 tuple(tuple(row) for row in wide_rows(evaluation.data)))  # fmt: skip


def codebook_table(evaluation: Evaluation) -> Table:
    heading = ("Spalte", "Frage-ID", "Abschnitt", "Frage", "Typ", "Zulässige Werte", "Einheit", "Eingeführt",
               "Pflicht", "Gefragt")  # fmt: skip
    rows = tuple(
        (e.column, e.question_id, e.section, e.text, e.type, e.allowed, e.unit, e.since, "ja" if e.required else
         "nein", e.asked)
        for e in codebook(evaluation.data.questionnaire)
    )  # fmt: skip
    fixed = (("ags", "", "", "Amtlicher Gemeindeschlüssel", "Text", "8 Ziffern", "", None, "", ""),
             ("kommune", "", "", "Name der Kommune", "Text", "", "", None, "", ""),
             ("art", "", "", "Art der Kommune", "Text", "Landkreis; kreisfreie Stadt", "", None, "", ""),
             ("eingereicht", "", "", "Fragebogen eingereicht", "Ja/Nein", "1 = Ja, 0 = Nein", "", None, "",
              ""))  # fmt: skip
    return Table("codebuch", "Codebuch", heading, fixed + rows)


def summary_table(evaluation: Evaluation) -> Table:
    heading = ("Frage-ID", "Frage", "Gruppe", "Eingereicht", "Beantwortet", "Fehlend (Pflicht)", "Ohne Angabe",
               "Entfällt", "Mittelwert", "Median", "Minimum", "Maximum", "Summe")  # fmt: skip
    rows = []
    for question in evaluation.data.questionnaire.questions:
        for group in GROUPS:
            s = evaluation.summary.of(question.id, group)
            n = s.numbers
            numbers: tuple[Cell, ...] = (
                (rounded(n.mean), rounded(n.median), n.minimum, n.maximum, n.total) if n else (None,) * 5
            )
            if s.earliest is not None:
                numbers = (None, None, s.earliest, s.latest, None)
            rows.append((question.id, question.text, GROUP_LABELS[group], s.submitted, s.answered, s.missing,
                         s.skipped, s.not_applicable, *numbers))  # fmt: skip
    return Table("zusammenfassung", "Zusammenfassung je Frage", heading, tuple(rows))


def distribution_table(evaluation: Evaluation) -> Table:
    heading = ("Frage-ID", "Gruppe", "Ausprägung", "Bezeichnung", "Anzahl", "Beantwortet", "Anteil")
    rows = []
    for question in evaluation.data.questionnaire.questions:
        for group in GROUPS:
            s = evaluation.summary.of(question.id, group)
            rows += [(question.id, GROUP_LABELS[group], c.code, c.label, c.count, s.answered, rounded(c.share, 4))
                     for c in s.distribution]  # fmt: skip
    return Table("verteilungen", "Verteilungen", heading, tuple(rows))


def change_table(evaluation: Evaluation) -> Table:
    heading = ("Frage-ID", "Vergleichsjahr", "Gruppe", "Im Vergleichsjahr gefragt", "Panel (Kommunen)",
               "Mittelwert vorher", "Mittelwert jetzt", "Veränderung Mittelwert", "Median vorher", "Median jetzt",
               "Veränderung Median", "Ausprägung", "Anteil vorher", "Anteil jetzt",
               "Veränderung (Prozentpunkte)")  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    for c in evaluation.changes:
        base: tuple[Cell, ...] = (c.question_id, c.earlier_year, GROUP_LABELS[c.group],
                                  "ja" if c.earlier_asked else "nein (neue Frage)", c.panel)  # fmt: skip
        means = tuple(
            None if v is None else rounded(v)
            for v in (c.mean_before, c.mean_now, c.mean_change, c.median_before, c.median_now, c.median_change)
        )
        if not c.shares:
            rows.append((*base, *means, None, None, None, None))
        for share in c.shares:
            before, now = rounded(share.before, SHARE_PLACES), rounded(share.now, SHARE_PLACES)
            rows.append((*base, *means, share.code, before, now, rounded(share.change * 100)))
    return Table("veraenderung", "Veränderung gegenüber Vorjahren", heading, tuple(rows))


def all_tables(evaluation: Evaluation) -> list[Table]:
    tables = [data_table(evaluation), codebook_table(evaluation), summary_table(evaluation),
              distribution_table(evaluation)]  # fmt: skip
    return [*tables, change_table(evaluation)] if evaluation.compared else tables


def percent_text(share: Decimal) -> str:
    """A share as German percent with one place: ``Decimal("0.3333")`` → ``"33,3 %"``."""
    return german_decimal(rounded(share, SHARE_PLACES) * 100, 1) + " %"


def rounded(value: Decimal, places: int = MEAN_PLACES) -> Decimal:
    """For display: half-up to ``places`` decimals when it has more (exact values with fewer stay as they are)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return value
