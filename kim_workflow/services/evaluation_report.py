"""The evaluation as one self-contained HTML report: German, charts as SVG data URIs, no external resources, a print
stylesheet for A4 (a question never breaks across pages, tables repeat their header)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.evaluation_change import QuestionChange
from kim_workflow.core.evaluation_summary import GROUPS, QuestionSummary, answered_values
from kim_workflow.core.evaluation_tables import GROUP_LABELS, Evaluation, percent_text, rounded
from kim_workflow.core.money import german_decimal
from kim_workflow.core.questionnaire import Question, QuestionType
from kim_workflow.services.evaluation_charts import bar_chart, box_chart, data_uri

KINDS = (KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT)
STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; max-width: 60em; margin: 2em auto; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; border-bottom: 1px solid #888; margin-top: 2em; }
h3 { font-size: 10.5pt; margin-bottom: .3em; } .id { color: #555; font-family: monospace; font-size: 8.5pt; }
table { border-collapse: collapse; margin: .4em 0 .8em; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: right; } th:first-child, td:first-child,
th.text, td.text { text-align: left; } thead th { background: #eee; }
img.chart { display: block; max-width: 100%; height: auto; } .note { color: #444; font-size: 8.5pt; }
section.question { margin-bottom: 1.4em; }
@page { size: A4; margin: 18mm 15mm 18mm 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9pt; }
  section.question { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  img.chart { max-height: 110mm; }
}
"""


def report_html(evaluation: Evaluation, *, now: datetime) -> str:
    """The whole report; ``now`` is the date it is stamped with (the report's content depends only on the data)."""
    questionnaire = evaluation.data.questionnaire
    title = f"Auswertung des Fragebogens, Förderjahr {evaluation.year}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="de"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(questionnaire.title)} (Version {escape(questionnaire.version)}). Stand: {now:%d.%m.%Y}.</p>",
        _response_table(evaluation),
    ]
    if evaluation.compared:
        years = ", ".join(str(y) for y in evaluation.compared)
        parts.append(
            f'<p class="note">Vergleich mit {years}: jeweils nur die Kommunen, die die Frage in beiden Jahren '
            "beantwortet haben (gleiches Panel).</p>"
        )
    for section in questionnaire.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        for question in section.questions:
            parts.append(_question(evaluation, question))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _response_table(evaluation: Evaluation) -> str:
    rows = "".join(
        f"<tr><td>{GROUP_LABELS[g]}</td><td>{evaluation.summary.kommunen[g]}</td>"
        f"<td>{evaluation.summary.submitted[g]}</td></tr>"
        for g in GROUPS
    )
    return (
        "<table><thead><tr><th>Gruppe</th><th>Kommunen</th><th>Fragebogen eingereicht</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _question(evaluation: Evaluation, question: Question) -> str:
    summaries = [evaluation.summary.of(question.id, g) for g in GROUPS]
    parts = [
        '<section class="question">',
        f'<h3>{escape(question.text)} <span class="id">{escape(question.id)}</span></h3>',
        _counts_table(question, summaries),
    ]
    if summaries[0].distribution:
        parts.append(_distribution_table(summaries))
        labels = [c.label for c in summaries[0].distribution]
        series = [
            (GROUP_LABELS[g], [c.count for c in evaluation.summary.of(question.id, g).distribution]) for g in KINDS
        ]
        parts.append(_img(bar_chart(question.text, labels, series), question))
    elif question.type.is_number and summaries[0].answered:
        groups = [(GROUP_LABELS[g], _decimals(answered_values(evaluation.data, question, g))) for g in KINDS]
        parts.append(_img(box_chart(question.text, question.unit or _unit(question), groups), question))
    if question.type.is_text and summaries[0].answered:
        parts.append('<p class="note">Die Antworten im Wortlaut enthält die Datentabelle (CSV/XLSX).</p>')
    changes = [c for c in evaluation.changes if c.question_id == question.id and c.group is None]
    if changes:
        parts.append(_change_table(question, changes))
    parts.append("</section>")
    return "\n".join(parts)


def _counts_table(question: Question, summaries: list[QuestionSummary]) -> str:
    heads = ["Gruppe", "eingereicht", "beantwortet", "fehlend (Pflicht)", "ohne Angabe", "entfällt"]
    number = question.type.is_number
    if number:
        heads += ["Mittelwert", "Median", "Minimum", "Maximum"]
    body = []
    for s in summaries:
        cells = [GROUP_LABELS[s.group], *(str(n) for n in (s.submitted, s.answered, s.missing, s.skipped,
                                                            s.not_applicable))]  # fmt: skip
        if number:
            n = s.numbers
            ends = 0 if question.type in (QuestionType.INTEGER, QuestionType.SCALE) else 2  # whole numbers stay whole
            cells += [_num(n.mean), _num(n.median), _num(n.minimum, ends), _num(n.maximum, ends)] if n else ["—"] * 4
        body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _distribution_table(summaries: list[QuestionSummary]) -> str:
    head = "<th>Antwort</th>" + "".join(f"<th>{GROUP_LABELS[s.group]}</th>" for s in summaries)
    body = []
    for index, count in enumerate(summaries[0].distribution):
        cells = "".join(f"<td>{s.distribution[index].count} ({percent_text(s.distribution[index].share)})</td>"
                        for s in summaries)  # fmt: skip
        body.append(f'<tr><td class="text">{escape(count.label)}</td>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _change_table(question: Question, changes: list[QuestionChange]) -> str:
    rows = []
    for c in changes:
        if not c.earlier_asked:
            rows.append(f"<tr><td>{c.earlier_year}</td><td colspan=\"2\" class=\"text\">im Vergleichsjahr nicht "
                        "gefragt (neue Frage)</td></tr>")  # fmt: skip
            continue
        if question.type.is_number:
            mean = f"{_num(c.mean_before)} → {_num(c.mean_now)} ({_signed(c.mean_change)})"
            median = f"{_num(c.median_before)} → {_num(c.median_now)} ({_signed(c.median_change)})"
            detail = f"Mittelwert {mean}, Median {median}"
        else:
            detail = "; ".join(f"{escape(s.label)}: {percent_text(s.before)} → {percent_text(s.now)} "
                               f"({_signed(rounded(s.change * 100))} Pp.)" for s in c.shares)  # fmt: skip
        rows.append(f'<tr><td>{c.earlier_year}</td><td>{c.panel}</td><td class="text">{detail}</td></tr>')
    return (
        '<table><thead><tr><th>Vergleichsjahr</th><th>Panel</th><th class="text">Veränderung bis '
        f"{changes[0].year}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _img(svg: str, question: Question) -> str:
    alt = escape(f"Diagramm: {question.text}")
    return f'<img class="chart" alt="{alt}" src="{data_uri(svg)}">'


def _decimals(values: Sequence[object]) -> list[Decimal]:
    return [Decimal(v) for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]


def _unit(question: Question) -> str:
    return "Euro" if question.type is QuestionType.AMOUNT else ""


def _num(value: Decimal | None, places: int = 2) -> str:
    return "—" if value is None else german_decimal(value, places)


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + german_decimal(value, 2)
