"""Issue #17 end to end: a Prefect server on its own PostgreSQL database, ``kim deploy``, two ``kim worker``
processes; the daily sweep twice at once and 20 submissions; the worker running a sweep is SIGKILLed with it.
Every run finishes, every email reaches the sink exactly once, and with the sweep paused the missed-sweep alert
comes (its window shortened from 26 h to seconds)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import make_engine
from kim_workflow.db.models import OutboxMessage
from kim_workflow.orchestration.forms import KOMMUNE_LABELS
from kim_workflow.services.registry import reference_kommunen
from tests.support.cluster import (
    BIN,
    Processes,
    descendants_with_env,
    fresh_postgres_database,
    kill_tree,
    owning_child,
    prefect_env,
    start_server,
)
from tests.support.databases import is_postgres
from tests.support.kim_up import wait_for
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

MISSED_WINDOW = 60  # seconds instead of 26 h
HEARTBEAT = 30  # Prefect's minimum: a run silent for 75 s (or since Running) is Crashed
OPERATORS = "betrieb@it.rlp.example"
MISSED_AUTOMATION = "kim: Warnung: daily-sweep ausgeblieben"


@pytest.fixture
def kim_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    if not is_postgres(database_url):
        pytest.skip("needs PostgreSQL (KIM_TEST_DATABASE_URL): Prefect's own database is created on that server")
    data = tmp_path / "data"
    values = {"KIM_DATABASE_URL": database_url, "KIM_DATA_DIR": str(data)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    write_all_active(data / "policies")
    kommunen = reference_kommunen()
    rows = "".join(f"{k.ags},IM {k.ags},im-{k.ags}@kommune.example,integration_manager\n" for k in kommunen)
    (tmp_path / "contacts.csv").write_text("ags,name,email,role\n" + rows, encoding="utf-8")
    runner = CliRunner()
    for args in (["seed"], ["contacts", "import", str(tmp_path / "contacts.csv"), "--mode", "merge", "--apply"],
                 ["cycle", "open", "--year", "2026"]):  # fmt: skip
        assert runner.invoke(app, args).exit_code == 0
    return values


class Api:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)

    def deployment(self, name: str) -> str:
        return str(self.http.get(f"/deployments/name/{name}/{name}").raise_for_status().json()["id"])

    def run(self, deployment: str, parameters: dict[str, Any]) -> str:
        response = self.http.post(f"/deployments/{self.deployment(deployment)}/create_flow_run",
                                  json={"parameters": parameters})  # fmt: skip
        return str(response.raise_for_status().json()["id"])

    def runs(self) -> list[dict[str, Any]]:
        return list(self.http.post("/flow_runs/filter", json={"limit": 200}).raise_for_status().json())

    def state(self, run_id: str) -> str:
        return str(self.http.get(f"/flow_runs/{run_id}").raise_for_status().json()["state"]["type"])

    def deployment_names(self) -> dict[str, str]:
        found = self.http.post("/deployments/filter", json={"limit": 200}).raise_for_status().json()
        return {d["id"]: d["name"] for d in found}


@pytest.mark.timeout(900)
def test_two_workers_a_killed_sweep_and_the_alerts(
    kim_env: dict[str, str], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    processes = Processes(tmp_path)
    with fresh_postgres_database(kim_env["KIM_DATABASE_URL"]) as prefect_db:
        try:
            env = prefect_env(tmp_path / "prefect-home", **kim_env)
            api_url = start_server(processes, env, prefect_db)
            env.update({
                "PREFECT_API_URL": api_url, "KIM_SMTP_HOST": smtp_server.host, "KIM_SMTP_PORT": str(smtp_server.port),
                "KIM_OPERATOR_ALERT_ADDRESS": OPERATORS, "KIM_MISSED_SWEEP_ALERT_SECONDS": str(MISSED_WINDOW),
                "KIM_FLOW_HEARTBEAT_SECONDS": str(HEARTBEAT), "PREFECT_WORKER_QUERY_SECONDS": "2",
                "KIM_START_TIMEOUT_SECONDS": "180",  # a run left Pending by the killed worker
            })  # fmt: skip
            deployed = processes.start("deploy", [str(BIN / "kim"), "deploy"], env)
            assert deployed.wait(timeout=180) == 0, processes.log("deploy")
            for name in ("worker-1", "worker-2"):
                processes.start(name, [str(BIN / "kim"), "worker", "--name", name], env)
            scenario(Api(api_url), processes, smtp_server, kim_env["KIM_DATABASE_URL"])
        finally:
            processes.stop_all()


def scenario(api: Api, processes: Processes, sink: SmtpServer, database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as blocker:
            blocker.begin()  # the sweep blocks on its first insert, so the kill surely lands during the run
            blocker.execute(sa.text("LOCK TABLE reminder_log IN SHARE MODE"))
            killed, worker = start_and_kill_a_sweep(api, processes)
            blocker.rollback()
        check(api, processes, sink, engine, killed, worker)
    finally:
        engine.dispose()


def start_and_kill_a_sweep(api: Api, processes: Processes) -> tuple[str, str]:
    """Two sweeps and 20 submissions at once; SIGKILL the worker running a sweep, with the run's process."""
    sweeps = [api.run("daily-sweep", {"today": "03.11.2026"}) for _ in range(2)]
    for kommune in reference_kommunen()[:20]:
        submission = {"ags": KOMMUNE_LABELS[kommune.ags], "year": 2026, "kind": "Jahresbericht",
                      "received_on": "02.11.2026"}  # fmt: skip
        api.run("record-submission", {"submission": submission, "actor": "test"})
    killed = wait_for(lambda: next((s for s in sweeps if api.state(s) == "RUNNING"), None), "a running sweep", 120)
    time.sleep(2)  # its first heartbeat is on the server
    [pid] = wait_for(lambda: descendants_with_env(f"PREFECT__FLOW_RUN_ID={killed}"), "the sweep's process", 30)
    worker = owning_child(processes, pid)
    assert worker in {"worker-1", "worker-2"}
    processes.kill(worker)
    kill_tree(pid)
    return killed, worker


def check(api: Api, processes: Processes, sink: SmtpServer, engine: Engine, killed: str, worker: str) -> None:
    """Every run completes (the killed sweep after its re-run), each email reached the sink once, and the paused
    sweep sets off the missed-sweep alert after its window."""

    def sent(kind: str) -> int:
        with Session(engine) as session:
            rows = session.exec(select(OutboxMessage.status).where(OutboxMessage.kind == kind)).all()
        return sum(1 for status in rows if status == OutboxStatus.SENT)

    def all_final() -> list[dict[str, Any]] | None:
        runs = api.runs()
        done = all(r["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} for r in runs)
        mailed = sent("submission_confirmation") == 20 and sent("operator_alert") >= 1
        return runs if done and mailed and api.state(killed) == "COMPLETED" else None

    runs = wait_for(all_final, "every run to finish", timeout=480, every=2)
    names = api.deployment_names()
    by_deployment = Counter(names.get(r["deployment_id"], "?") for r in runs)
    assert {r["state"]["type"] for r in runs} == {"COMPLETED"}, [
        (names.get(r["deployment_id"]), r["state"]) for r in runs
    ]
    assert by_deployment["daily-sweep"] == 2 and by_deployment["record-submission"] == 20
    # the killed worker's other runs crashed with it, each was re-run (at most twice) and alerted about
    rerun = [r for r in runs if r["run_count"] >= 2]
    assert killed in {r["id"] for r in rerun} and all(r["run_count"] <= 3 for r in runs)
    assert by_deployment["submission-received"] >= 1 and by_deployment["operator-alert"] >= 1
    killed_name = next(r["name"] for r in runs if r["id"] == killed)
    survivor = {"worker-1", "worker-2"} - {worker}
    assert any(r["id"] in processes.log(survivor.pop()) for r in runs)  # the other worker ran runs

    sweep_ends = [r["end_time"] for r in runs if names.get(r["deployment_id"]) == "daily-sweep"]
    last_sweep = max(datetime.fromisoformat(end) for end in sweep_ends)
    api.http.patch(f"/deployments/{api.deployment('daily-sweep')}", json={"paused": True}).raise_for_status()

    def fired_after_the_window() -> Any:
        """The automation fired ``MISSED_WINDOW`` after the last completed sweep (it may have fired before too, in
        a gap between this test's sweeps: that day's one email is then already out)."""
        since = (last_sweep + timedelta(seconds=MISSED_WINDOW - 5)).isoformat()
        body = {"filter": {"event": {"prefix": ["prefect.automation.triggered"]}, "occurred": {"since": since}}}
        events = api.http.post("/events/filter", json=body).raise_for_status().json()["events"]
        return [e for e in events if e["resource"].get("prefect.resource.name") == MISSED_AUTOMATION]

    wait_for(fired_after_the_window, "the missed-sweep automation", timeout=MISSED_WINDOW + 120, every=2)

    def alert() -> Any:
        return next((r for r in sink.handler.received if "ausgeblieben" in str(r.message["Subject"])), None)

    missed = wait_for(alert, "the missed-sweep alert", timeout=120, every=1)
    assert missed.rcpt_tos == [OPERATORS]
    time.sleep(3)  # anything sent twice would be here by now
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    at_sink = Counter(r.message_id for r in sink.handler.received)
    assert at_sink == Counter({row.message_id: 1 for row in rows})  # each email exactly once
    kinds = Counter(row.kind for row in rows)
    assert kinds["submission_confirmation"] == 20 and kinds["deliverable_reminder"] == 36  # one per Kommune
    crashes = [r for r in rows if r.kind == "operator_alert" and "ausgeblieben" not in r.subject]
    assert 1 <= len(crashes) <= by_deployment["operator-alert"] and {r.recipient for r in crashes} == {OPERATORS}
    assert any(killed_name in r.text_body and "abgestürzt" in r.subject for r in crashes)
    assert kinds["operator_alert"] == len(crashes) + 1  # and the missed sweep, once
