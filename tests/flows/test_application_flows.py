"""The application flows on the Prefect test server: intake, a decision run paused for input, the daily window."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

import pytest
from prefect import State
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from flows.applications import application_decision, application_window, submit_application
from flows.grants import grant_confirmation
from kim_workflow.app import simulated_time
from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome, OutboxStatus
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import Application, Decision, OutboxMessage
from kim_workflow.orchestration.application_tasks import release_waiting_run
from kim_workflow.services import registry
from kim_workflow.services.application_input import ApplicationInput
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.decisions import DecisionRequest, decide_application
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import load_settings
from tests.support.smtp import SmtpServer

T = TypeVar("T")
NOW = datetime(2026, 1, 10, tzinfo=UTC)
MAINZ = "07315000"
APPLICATION = ApplicationInput.model_validate(
    {
        "ags": MAINZ,
        "year": 2026,
        "staff": [{"name": "Erika Muster", "fte": "1.0"}],
        "personnel_costs_eur": "60000",
        "material_costs_eur": "20000",
        "overhead_costs_eur": "0",
        "position_in_administration": True,
    }
)


@pytest.fixture
def year_env(kim_flow_env: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    engine = make_engine(kim_flow_env)
    contacts = "ags,name,email,role\n" + "".join(
        f"{k.ags},IM {k.name},im{k.ags}@kommune.example,integration_manager\n" for k in registry.reference_kommunen()
    )
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, contacts, now=NOW, actor="t")
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    with simulated_time(NOW):  # within the application window (deadline 31 March)
        yield engine
    engine.dispose()


def in_background(target: Callable[[], T]) -> tuple[threading.Thread, list[T]]:
    """Run a flow in a thread that sees this thread's Prefect settings (the test server); its result ends up in
    the list."""
    outcome: list[T] = []
    context = contextvars.copy_context()
    thread = threading.Thread(target=lambda: outcome.append(context.run(target)), daemon=True)
    thread.start()
    return thread, outcome


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def paused_key(run_id: str) -> str | None:
    """The pause key if the run is paused, else None."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    return state.state_details.pause_key if state is not None and state.is_paused() else None


def waiting_run(engine: Engine) -> str:
    def run_id() -> str | None:
        with session_scope(engine) as session:
            return session.exec(select(Application.decision_run_id)).first()

    found: str = wait_for(run_id, "the decision run to register")
    wait_for(lambda: paused_key(found), "the decision run to pause")
    return found


def resume(run_id: str, **answer: Any) -> None:
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(UUID(run_id), run_input={"decided_by": "Referentin", **answer})


def test_decision_flow_pauses_rejects_an_approval_above_the_rules_and_stores_the_valid_one(
    year_env: Engine, smtp_server: SmtpServer
) -> None:
    submitted = submit_application(APPLICATION, actor="test")
    application_id = submitted.application_id
    assert submitted.revision == 1 and len(smtp_server.handler.received) == 1  # the receipt went out
    thread, outcome = in_background(
        lambda: application_decision(application_id, poll_interval_seconds=1, timeout_days=1)
    )
    run_id = waiting_run(year_env)
    first_pause = paused_key(run_id)
    resume(run_id, outcome="Bewilligen", granted_personnel_eur="60000.01", granted_material_eur="20000")
    wait_for(lambda: paused_key(run_id) not in (None, first_pause), "the run to pause again after invalid input")
    resume(run_id, outcome="Bewilligen", granted_personnel_eur="45.000", granted_material_eur="12000,50")
    thread.join(timeout=30)
    [answer] = outcome
    assert answer.status == "decided" and answer.decision is not None and answer.decision.outcome == "approved"
    waiting = answer.decision.awaiting_confirmation  # four eyes (#13): nothing took effect yet
    assert waiting is not None and len(smtp_server.handler.received) == 1
    table = asyncio.run(artifact("kim-applications-2026"))
    rows = {row["AGS"]: row for row in json.loads(table.data)}
    assert rows[MAINZ]["Vier Augen"] == f"wartet auf Bestätigung (Nr. {waiting})"
    same = {"grant_decision_id": waiting, "answer": "Bestätigen", "reviewed_by": "Referentin"}
    refused = grant_confirmation(review=same, return_state=True)
    assert refused.is_failed() and "Vier-Augen-Prinzip" in str(refused.message) + repr(refused.data)
    result = grant_confirmation(review={**same, "reviewed_by": "Referatsleitung"})
    assert not isinstance(result, State) and result.email_queued
    with session_scope(year_env) as session:
        [decision] = session.exec(select(Decision)).all()
        mail = session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "decision_approved")).one()
    assert (decision.decided_by, str(decision.granted_material_eur)) == ("Referentin", "12000.50")
    assert mail.status is OutboxStatus.SENT and "57.000,50 €" in mail.text_body
    table = asyncio.run(artifact("kim-applications-2026"))
    assert "bewilligt insgesamt 57.000,50 €" in (table.description or "")


def test_a_decision_from_the_cli_ends_the_waiting_flow_cleanly(year_env: Engine) -> None:
    application_id = submit_application(APPLICATION, actor="test").application_id
    thread, outcome = in_background(
        lambda: application_decision(application_id=application_id, poll_interval_seconds=1)
    )
    run_id = waiting_run(year_env)
    request = DecisionRequest(outcome=DecisionOutcome.REJECTED, decided_by="cli", message="Frist versäumt.")
    with session_scope(year_env) as session:
        decide_application(session, load_settings(), request=request, now=NOW, ags=MAINZ, year=2026)
    assert release_waiting_run(run_id, {"outcome": "rejected", "decided_by": "cli"}) is True
    thread.join(timeout=30)
    [answer] = outcome
    assert answer.status == "not_pending"
    with session_scope(year_env) as session:
        assert session.exec(select(Application.status)).one() is ApplicationStatus.REJECTED
        assert len(session.exec(select(Decision)).all()) == 1


def test_window_flow_sends_the_call_once(year_env: Engine, smtp_server: SmtpServer) -> None:
    [first] = application_window(today=date(2026, 1, 15))
    assert (first.calls, first.queued) == (36, 36) and len(smtp_server.handler.received) == 36
    [again] = application_window(today=date(2026, 1, 15))
    assert again.queued == 0 and len(smtp_server.handler.received) == 36


async def artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return found[0]
