"""``kim simulate --prefect``: the flows, called on simulated days, send exactly what the direct simulation sends."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from kim_workflow.app import simulated_time, utc_now
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.db.models import OutboxMessage
from kim_workflow.orchestration.up import PROJECT_ROOT
from kim_workflow.settings import Settings
from kim_workflow.simulation.flow_mode import FLOWS, load_flows, simulate_year_with_flows
from kim_workflow.simulation.runner import at, populate, simulate_year, stage_of
from kim_workflow.simulation.scenario import build_scenario
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

START, END = date(2026, 11, 1), date(2026, 11, 4)  # opens the year, then the 42-day reminder on 3 November


def emails(engine: Engine) -> Counter[tuple[str, str, str, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.idempotency_key,
                                   OutboxMessage.status)).all()  # fmt: skip
    return Counter((kind, recipient, stage_of(kind, key), str(status)) for kind, recipient, key, status in rows)


def test_a_simulated_period_through_the_flows_sends_what_the_direct_simulation_sends(
    kim_flow_env: str, smtp_server: SmtpServer, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    write_all_active(settings.policy_dir)  # the period starts in November, without applications
    through_flows = make_engine(kim_flow_env)
    ags = populate(through_flows, 36, now=at(date(2025, 12, 31)))
    scenario = build_scenario(ags, year=2026, seed=3)
    flows = load_flows(PROJECT_ROOT)
    assert set(flows) == set(FLOWS)
    result = simulate_year_with_flows(through_flows, settings, scenario, kommunen=36, flows=flows, start=START, end=END)

    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    direct = make_engine(reference_url)
    upgrade(direct)
    populate(direct, 36, now=at(date(2025, 12, 31)))
    reference = settings.model_copy(update={"database_url": reference_url})
    simulate_year(direct, reference, scenario, kommunen=36, start=START, end=END)

    sent = emails(through_flows)
    assert sent == emails(direct)
    assert {status for *_, status in sent} == {"sent"}
    assert sum(n for (kind, *_), n in sent.items() if kind == "deliverable_reminder") == 36
    assert result.delivery["sent"] == sum(sent.values())
    assert len(smtp_server.handler.received) == 2 * sum(sent.values())  # both runs sent to this server
    assert result.days == 4


def test_simulated_time_moves_only_our_clock() -> None:
    with simulated_time(at(date(2031, 5, 6))):
        assert utc_now() == at(date(2031, 5, 6))
    assert utc_now().year >= 2026
    with pytest.raises(ValueError), simulated_time(at(date(2031, 5, 6)).replace(tzinfo=None)):
        pass
