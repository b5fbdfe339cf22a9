from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from flows.registry_check import registry_check
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.orchestration.registry_tasks import REGISTRY_ARTIFACT_KEY
from kim_workflow.services import registry

NOW = datetime(2026, 11, 25, tzinfo=UTC)


async def latest_artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0]


def test_registry_check_publishes_kommunen_without_manager(kim_flow_env: str) -> None:
    engine = make_engine(kim_flow_env)
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(
            session, "ags,name,email,role\n07315000,A,a@mainz.de,integration_manager\n", now=NOW, actor="t"
        )
    assert registry_check() == 35
    artifact = asyncio.run(latest_artifact(REGISTRY_ARTIFACT_KEY))
    assert artifact.type == "table"
    assert "07111000" in str(artifact.data) and "07315000" not in str(artifact.data)
    assert "a@mainz.de" not in str(artifact.data)
