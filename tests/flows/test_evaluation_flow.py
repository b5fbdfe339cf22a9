"""The ``evaluation`` deployment writes the files into the data directory and the artifact ``kim-evaluation-<year>``;
a submitted (or corrected) questionnaire refreshes the artifact wherever its event is published."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flows.evaluation import evaluation
from kim_workflow.core.domain import KommuneKind
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.orchestration.evaluation_tasks import evaluation_folder
from kim_workflow.orchestration.events import publish_and_refresh
from kim_workflow.services.questionnaire_answers import submit
from kim_workflow.settings import load_settings
from tests.support.questionnaire import MAINZ, MAYEN_KOBLENZ, NOW, complete_answers, open_year


async def latest_artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0] if found else None


def test_the_deployment_writes_the_files_and_a_submission_refreshes_the_artifact(kim_flow_env: str) -> None:
    engine = make_engine(kim_flow_env)
    settings = load_settings()
    open_year(engine)
    with session_scope(engine) as session:
        submit(session, settings, year=2026, ags=MAINZ, raw_answers=complete_answers(KommuneKind.KREISFREIE_STADT),
               by="Test", now=NOW, today=NOW.date())  # fmt: skip
    files = evaluation(year=2026)
    folder = evaluation_folder(settings.data_dir, 2026)
    assert files.submitted == 1 and files.kommunen == 36
    assert {p.name for p in files.paths} >= {"kim-auswertung-2026.xlsx", "kim-auswertung-2026.html"}
    assert all(Path(p).parent == folder and Path(p).is_file() for p in files.paths)
    artifact = asyncio.run(latest_artifact("kim-evaluation-2026"))
    assert artifact is not None and "alle: **1** von 36 eingereicht" in artifact.data

    with session_scope(engine) as session:
        submit(session, settings, year=2026, ags=MAYEN_KOBLENZ, raw_answers=complete_answers(KommuneKind.LANDKREIS),
               by="Test", now=NOW, today=NOW.date())  # fmt: skip
    assert publish_and_refresh(engine, settings, now=NOW) > 0  # what kim up's relay does with the new events
    refreshed = asyncio.run(latest_artifact("kim-evaluation-2026"))
    assert "alle: **2** von 36 eingereicht" in refreshed.data
    assert "Landkreise: **1** von" in refreshed.data
