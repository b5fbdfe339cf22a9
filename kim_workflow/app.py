"""The composition root: settings → engine → ready database. Everything else receives what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.services.registry import seed_kommunen
from kim_workflow.settings import Settings, load_settings


def utc_now() -> datetime:
    """The one place that reads the wall clock; the core and services get the time passed in."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine


def bootstrap(settings: Settings | None = None) -> App:
    settings = settings or load_settings()
    return App(settings=settings, engine=make_engine(settings.database_url))


def prepare_database(app: App, *, now: datetime | None = None) -> int:
    """Migrate to head and seed the Kommunen; return how many Kommunen were added or corrected."""
    upgrade(app.engine)
    with session_scope(app.engine) as session:
        return seed_kommunen(session, now=now or utc_now())
