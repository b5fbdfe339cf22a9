"""Prefect tasks of the registry check: one query task, one artifact task."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

from kim_workflow.db.engine import session_scope
from kim_workflow.orchestration.context import current_app
from kim_workflow.services.registry import kommunen_without_manager

REGISTRY_ARTIFACT_KEY = "kim-registry-gaps"


@task(name="find-kommunen-without-manager", retries=2, retry_delay_seconds=[2, 10])
def find_kommunen_without_manager() -> list[dict[str, str]]:
    """Active Kommunen with no active integration manager (AGS and name only: no personal data)."""
    with session_scope(current_app().engine) as session:
        return [{"AGS": k.ags, "Kommune": k.name, "Art": k.kind} for k in kommunen_without_manager(session)]


@task(name="publish-registry-artifact")
def publish_registry_artifact(gaps: list[dict[str, str]]) -> None:
    """A table artifact with a stable key, so the UI keeps its history night by night."""
    description = (
        f"{len(gaps)} aktive Kommunen ohne aktive Ansprechperson im Integrationsmanagement"
        if gaps
        else "Alle aktiven Kommunen haben eine aktive Ansprechperson im Integrationsmanagement."
    )
    create_table_artifact(key=REGISTRY_ARTIFACT_KEY, table=gaps, description=description)
