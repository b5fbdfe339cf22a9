"""Prefect tasks of the registry check: one query task, one artifact task (both built in :mod:`views`)."""

from __future__ import annotations

from prefect import task

from kim_workflow.orchestration import views
from kim_workflow.orchestration.context import current_app

REGISTRY_ARTIFACT_KEY = views.REGISTRY_GAPS_KEY


@task(name="find-kommunen-without-manager", retries=2, retry_delay_seconds=[2, 10])
def find_kommunen_without_manager() -> list[dict[str, str]]:
    """Active Kommunen with no active integration manager (AGS and name only: no personal data)."""
    return views.registry_gaps(current_app().engine)


@task(name="publish-registry-artifact")
def publish_registry_artifact(gaps: list[dict[str, str]]) -> None:
    """A table artifact with a stable key, so the UI keeps its history night by night."""
    views.write_registry_gaps(gaps)
