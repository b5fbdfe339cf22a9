"""The composition root: settings → engine → ready database. Everything else receives what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.services.registry import seed_kommunen
from kim_workflow.settings import Settings, load_settings

_simulated_now: datetime | None = None


def utc_now() -> datetime:
    """The one place that reads the wall clock; the core and services get the time passed in."""
    return _simulated_now if _simulated_now is not None else datetime.now(UTC)


@contextmanager
def simulated_time(now: datetime) -> Iterator[None]:
    """``utc_now()`` returns ``now`` inside the block, in this process (``kim simulate --prefect`` runs the flows
    in-process on a simulated day). Only our clock moves: Prefect keeps real time, unlike with freezegun."""
    global _simulated_now
    if now.tzinfo is None:
        raise ValueError("simulated_time braucht eine Zeitzone")
    previous, _simulated_now = _simulated_now, now
    try:
        yield
    finally:
        _simulated_now = previous


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine


def bootstrap(settings: Settings | None = None) -> App:
    settings = settings or load_settings()
    return App(settings=settings, engine=make_engine(settings.database_url))


def prepare_database(app: App, *, now: datetime | None = None) -> int:
    """Migrate to head and seed the Kommunen; return how many Kommunen were added or corrected."""
    from kim_workflow.db.migrate import upgrade  # Alembic costs ~0.3 s: only where the schema changes

    upgrade(app.engine)
    with session_scope(app.engine) as session:
        return seed_kommunen(session, now=now or utc_now())
