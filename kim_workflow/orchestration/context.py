"""What a task needs at run time, built from the environment of the flow-run process."""

from __future__ import annotations

from functools import lru_cache

from kim_workflow.app import App, bootstrap
from kim_workflow.settings import load_settings


@lru_cache(maxsize=4)
def _app_for(database_url: str) -> App:
    return bootstrap(load_settings(database_url=database_url))


def current_app() -> App:
    """The app for the current environment; the engine is reused across tasks of one process."""
    return _app_for(load_settings().database_url)
