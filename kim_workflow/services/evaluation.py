"""The evaluation of a year's questionnaire answers (``kim evaluation``, the ``evaluation`` deployment, the artifact).

Who is in a year's evaluation: every Kommune that owes the year's questionnaire (its deliverable is not waived) and
every Kommune that submitted answers. Only submitted answers count (drafts never); answers are read with the
year's questionnaire. Four queries per year (cycle, deliverables, answers, Kommunen), whatever their number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.core.evaluation import Respondent, YearAnswers
from kim_workflow.core.evaluation_tables import Evaluation, all_tables, evaluate
from kim_workflow.core.questionnaire import AnswerStatus
from kim_workflow.core.questionnaire_answers import answers_from_json
from kim_workflow.db.models import Deliverable, Kommune, QuestionnaireAnswers
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.evaluation_files import write_csv, write_xlsx
from kim_workflow.services.evaluation_report import report_html
from kim_workflow.services.lookups import cycle_for
from kim_workflow.services.questionnaires import load_questionnaire

COMPARE_MAX = 10


@dataclass(frozen=True)
class EvaluationFiles:
    year: int
    compared: tuple[int, ...]
    kommunen: int
    submitted: int
    paths: tuple[Path, ...]


def load_year(session: Session, *, year: int, questionnaire_dir: Path | None) -> YearAnswers:
    """The year's questionnaire and, per Kommune in the evaluation (AGS order), its submitted answers or None."""
    cycle_for(session, year)
    questionnaire = load_questionnaire(year, questionnaire_dir)
    owing = set(
        session.exec(
            select(Deliverable.kommune_id).where(
                col(Deliverable.year) == year,
                col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE,
                col(Deliverable.status) != DeliverableStatus.WAIVED,
            )
        ).all()
    )
    submitted = dict(
        session.exec(
            select(QuestionnaireAnswers.kommune_id, QuestionnaireAnswers.answers).where(
                col(QuestionnaireAnswers.year) == year, col(QuestionnaireAnswers.status) == AnswerStatus.SUBMITTED
            )
        ).all()
    )
    respondents = []
    for kommune in session.exec(select(Kommune).order_by(col(Kommune.ags))):
        kommune_id = kommune.id or 0
        if kommune_id in owing or kommune_id in submitted:
            stored = submitted.get(kommune_id)
            answers = answers_from_json(questionnaire, stored) if stored is not None else None
            respondents.append(Respondent(kommune.ags, kommune.name, kommune.kind, answers))
    return YearAnswers(year, questionnaire, tuple(respondents))


def evaluate_year(
    session: Session, *, year: int, compare: Sequence[int] = (), questionnaire_dir: Path | None = None
) -> Evaluation:
    """The year's evaluation against each of ``compare`` (other years, each opened)."""
    years = list(dict.fromkeys(compare))
    if year in years:
        raise UseCaseError(f"Das Vergleichsjahr {year} ist das ausgewertete Jahr selbst; bitte ein anderes angeben.")
    if len(years) > COMPARE_MAX:
        raise UseCaseError(f"Höchstens {COMPARE_MAX} Vergleichsjahre (nicht {len(years)}).")
    data = load_year(session, year=year, questionnaire_dir=questionnaire_dir)
    earlier = [load_year(session, year=y, questionnaire_dir=questionnaire_dir) for y in years]
    return evaluate(data, earlier)


def file_stem(year: int) -> str:
    return f"kim-auswertung-{year}"


def write_evaluation(evaluation: Evaluation, out: Path, *, now: datetime) -> tuple[Path, ...]:
    """CSV per table, one XLSX with every table as a sheet, the HTML report; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(evaluation.year)
    tables = all_tables(evaluation)
    paths = [write_csv(table, out / f"{stem}-{table.name}.csv") for table in tables]
    paths.append(write_xlsx(tables, out / f"{stem}.xlsx", now=now))
    html = out / f"{stem}.html"
    html.write_text(report_html(evaluation, now=now), encoding="utf-8")
    return (*paths, html)


def run_evaluation(
    session: Session,
    *,
    year: int,
    compare: Sequence[int],
    out: Path,
    now: datetime,
    questionnaire_dir: Path | None = None,
) -> EvaluationFiles:
    """Evaluate ``year`` (against ``compare``) and write the files into ``out``."""
    evaluation = evaluate_year(session, year=year, compare=compare, questionnaire_dir=questionnaire_dir)
    paths = write_evaluation(evaluation, out, now=now)
    summary = evaluation.summary
    return EvaluationFiles(year, evaluation.compared, summary.kommunen[None], summary.submitted[None], paths)
