"""One Prefect test server for the whole session: heartbeat off, task-run recorder batched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kim_workflow.orchestration.environment import SERVER_TUNING

os.environ.update(SERVER_TUNING)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def kim_flow_env(prefect_harness: None, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Flows read their settings from the environment, as in a served flow-run process."""
    monkeypatch.setenv("KIM_DATABASE_URL", database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(tmp_path / "data"))
    return database_url
