"""The ``evaluation`` deployment: the year's questionnaire evaluation as files in the data directory."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from kim_workflow.orchestration.evaluation_tasks import publish_evaluation_artifact, write_evaluation_task
from kim_workflow.orchestration.forms import Year, de
from kim_workflow.services.evaluation import EvaluationFiles

FundingYear = Annotated[Year, de("Förderjahr", "Das ausgewertete Förderjahr, z. B. 2026")]
CompareYears = Annotated[
    list[Year],
    de("Vergleichsjahre", "Frühere Förderjahre für die Veränderung je Frage, z. B. 2025 (leer: kein Vergleich)",
       shown=[]),
]  # fmt: skip


@flow(
    name="evaluation",
    description="Fragebogen auswerten: Datentabelle, Codebuch, Zusammenfassungen (CSV, XLSX) und HTML-Bericht "
    "nach <Datenordner>/auswertungen/<Jahr>/",
)
def evaluation(year: FundingYear, compare: CompareYears = []) -> EvaluationFiles:  # noqa: B006  (never mutated; the form's default)
    files = write_evaluation_task(year, list(compare))
    publish_evaluation_artifact(year)
    return files
