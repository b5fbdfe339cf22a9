"""What a task needs at run time, built from the environment of the flow-run process."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from kim_workflow.app import App
from kim_workflow.db.engine import make_engine
from kim_workflow.settings import load_settings


@lru_cache(maxsize=8)
def _engine_for(database_url: str) -> Engine:
    return make_engine(database_url)


def current_app() -> App:
    """Settings read now from the environment; the engine (and its pool) is reused across tasks of a process."""
    settings = load_settings()
    return App(settings=settings, engine=_engine_for(settings.database_url))
