"""Environment for Prefect processes (server, runner, flow runs). Imports nothing from Prefect."""

from __future__ import annotations

import os
from collections.abc import Mapping

from kim_workflow.settings import Settings

QUIET = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}
# The task-run recorder writes one event at a time by default (~45 task runs/s); batching gives ~200/s.
SERVER_TUNING = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "200",
}


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Variables every Prefect process of kim-workflow needs (existing values win)."""
    wanted = {"PREFECT_HOME": str(settings.prefect_home), **QUIET, **SERVER_TUNING}
    return {key: os.environ.get(key, value) for key, value in wanted.items()}


def apply_prefect_environment(settings: Settings, extra: Mapping[str, str] | None = None) -> None:
    """Put the Prefect variables into ``os.environ`` (inherited by the server and flow-run subprocesses)."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(prefect_environment(settings))
    if extra:
        os.environ.update(extra)
