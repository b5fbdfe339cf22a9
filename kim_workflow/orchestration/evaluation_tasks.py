"""Prefect task of the ``evaluation`` deployment: one coarse task writes every file (whatever the number of
Kommunen), the markdown artifact is rebuilt by :func:`kim_workflow.orchestration.views.publish_evaluation`."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from kim_workflow.app import utc_now
from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration import views
from kim_workflow.orchestration.context import current_app
from kim_workflow.services.evaluation import EvaluationFiles, run_evaluation

OUT_FOLDER = "auswertungen"


def evaluation_folder(data_dir: Path, year: int) -> Path:
    """Where the deployment writes: ``<data dir>/auswertungen/<year>/``."""
    return data_dir / OUT_FOLDER / str(year)


@task(name="write-evaluation")
def write_evaluation_task(year: int, compare: list[int]) -> EvaluationFiles:
    """Read the year's (and the comparison years') submitted answers once, write CSV, XLSX and HTML."""
    kim = current_app()
    out = evaluation_folder(kim.settings.data_dir, year)
    with session_scope(kim.engine) as session:
        files = run_evaluation(session, year=year, compare=compare, out=out, now=utc_now(),
                               questionnaire_dir=kim.settings.questionnaire_dir)  # fmt: skip
    get_run_logger().info("Förderjahr %s: %s von %s Kommunen eingereicht; %s Dateien in %s.", year, files.submitted,
                          files.kommunen, len(files.paths), out)  # fmt: skip
    return files


@task(name="publish-evaluation-artifact")
def publish_evaluation_artifact(year: int) -> list[str]:
    kim = current_app()
    return views.publish_evaluation(kim.engine, kim.settings, years=[year], now=utc_now())
