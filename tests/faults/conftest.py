"""The Prefect harness fixtures of the flow tests, and a 36-Kommunen autumn season driven by the runner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.engine import Engine

from kim_workflow.settings import Settings
from kim_workflow.simulation.runner import Simulation, SimulationResult, at, populate
from kim_workflow.simulation.scenario import build_scenario
from tests.flows.conftest import kim_flow_env, prefect_harness  # noqa: F401  (fixtures, reused)
from tests.support.obligations import write_all_active

SEASON = (date(2026, 10, 1), date(2026, 12, 31))
Season = Callable[..., SimulationResult]


@pytest.fixture
def season(engine: Engine, settings: Settings) -> Season:
    """Run 1 Oct – 31 Dec 2026 (or a part) for 36 Kommunen; ``on_day`` may change the SMTP server's behaviour."""

    def run(on_day: Callable[[date], None] | None = None, end: date = SEASON[1], **changes: object) -> SimulationResult:
        write_all_active(settings.policy_dir)  # the season starts in October, without applications
        ags = populate(engine, 36, now=at(date(2026, 9, 30)))
        simulation = Simulation(engine, settings.model_copy(update=changes), build_scenario(ags, year=2026, seed=7),
                                kommunen=36)  # fmt: skip
        simulation.on_day = on_day
        simulation.open_year(SEASON[0])
        return simulation.run(SEASON[0], end)

    return run
