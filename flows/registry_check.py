"""Nightly registry check: which active Kommunen have no active integration-manager contact?"""

from __future__ import annotations

from prefect import flow

from kim_workflow.orchestration.registry_tasks import find_kommunen_without_manager, publish_registry_artifact


@flow(name="registry-check", description="Kommunen ohne aktive Ansprechperson im Integrationsmanagement finden")
def registry_check() -> int:
    """Publish the table artifact ``kim-registry-gaps``; return how many Kommunen lack a manager."""
    gaps = find_kommunen_without_manager()
    publish_registry_artifact(gaps)
    return len(gaps)
