"""The evaluation's summary as markdown for the Prefect artifact ``kim-evaluation-<year>`` (pure, German)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kim_workflow.core.evaluation_summary import GROUPS, QuestionSummary
from kim_workflow.core.evaluation_tables import GROUP_LABELS, Evaluation, percent_text
from kim_workflow.core.money import german_decimal
from kim_workflow.core.questionnaire import Question

TOP_OPTIONS = 3


def evaluation_markdown(evaluation: Evaluation, *, today: date) -> str:
    """Response per group, then one line per question: answered, missing, not applicable and the result."""
    summary = evaluation.summary
    lines = [
        f"# Fragebogen {evaluation.year}: Auswertung, Stand {today:%d.%m.%Y}",
        "",
        *(f"- {GROUP_LABELS[g]}: **{summary.submitted[g]}** von {summary.kommunen[g]} eingereicht" for g in GROUPS),
        "",
        "Die vollständige Auswertung (CSV, XLSX, HTML mit Diagrammen) erzeugt `kim evaluation --year "
        f"{evaluation.year} --out ORDNER` oder das Deployment `evaluation`.",
    ]
    for section in evaluation.data.questionnaire.sections:
        lines += ["", f"## {section.title}", "", "| Frage | beantwortet | fehlend | entfällt | Ergebnis |",
                  "|---|---:|---:|---:|---|"]  # fmt: skip
        for question in section.questions:
            s = summary.of(question.id)
            lines.append(
                f"| `{question.id}` | {s.answered} | {s.missing} | {s.not_applicable} | {result(question, s)} |"
            )
    return "\n".join(lines) + "\n"


def result(question: Question, summary: QuestionSummary) -> str:
    """Mean and median of numbers, the most chosen options of choices, nothing for text."""
    if summary.numbers is not None:
        n = summary.numbers
        return f"Mittelwert {_number(n.mean)}, Median {_number(n.median)} {question.unit}".rstrip()
    if summary.distribution and summary.answered:
        top = sorted(summary.distribution, key=lambda c: -c.count)[:TOP_OPTIONS]
        return "; ".join(f"{_cell(c.label)} {percent_text(c.share)}" for c in top if c.count)
    return ""


def _number(value: Decimal) -> str:
    return german_decimal(value, 2)


def _cell(text: str) -> str:
    return text.replace("|", "/")
