"""``kim deploy`` registers prefect.yaml with a work pool (twice: same deployments); ``kim worker`` runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.orchestration.deployments import read_specs
from kim_workflow.orchestration.production import PROJECT_ROOT
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

runner = CliRunner()
SPECS = read_specs(PROJECT_ROOT / "prefect.yaml")


@pytest.fixture
def api_url(kim_flow_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The session's test server; afterwards its deployments, their automations and the pool are removed again
    (their schedules and event triggers must not reach the other flow tests)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = str(PREFECT_API_URL.value())
    monkeypatch.setenv("PREFECT_API_URL", url)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))  # the subprocesses' own profile folder
    yield url
    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            client.delete_automation(automation.id)
        for deployment in client.read_deployments():
            client.delete_deployment(deployment.id)
        if any(pool.name == "kim-process" for pool in client.read_work_pools()):
            client.delete_work_pool("kim-process")


def deployments() -> dict[str, object]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {d.name: d for d in client.read_deployments()}


def test_deploy_registers_every_deployment_of_prefect_yaml_and_again_changes_nothing(api_url: str) -> None:
    from prefect.client.orchestration import get_client

    result = runner.invoke(app, ["deploy"])
    assert result.exit_code == 0, result.output
    assert f"{len(SPECS)} Deployments registriert" in result.output
    first = deployments()
    assert {spec.name for spec in SPECS} <= set(first)
    sweep = first["daily-sweep"]
    assert sweep.work_pool_name == "kim-process"  # type: ignore[attr-defined]
    [schedule] = sweep.schedules  # type: ignore[attr-defined]
    assert schedule.schedule.cron == "0 7 * * *" and schedule.schedule.timezone == "Europe/Berlin"
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("kim-process").type == "process"
        automations = client.read_automations()
    assert any("application-decision" in a.name for a in automations)  # the event trigger became an automation
    ours = sorted(a.name for a in automations if a.name.startswith("kim: "))
    assert ours == [
        "kim: Absturz erkennen (Heartbeat)", "kim: Warnung: Lauf fehlgeschlagen oder abgestürzt",
        "kim: Warnung: daily-sweep ausgeblieben", "kim: abgestürzten Lauf neu starten", "kim: hängenden Start erkennen",
    ]  # fmt: skip
    assert "5 Automationen" in result.output and "Parallelitätsgrenze kim-dispatch" in result.output
    assert sweep.global_concurrency_limit.limit == 1  # type: ignore[attr-defined]
    assert sweep.concurrency_options.collision_strategy == "ENQUEUE"  # type: ignore[attr-defined]
    assert first["dispatch-outbox"].concurrency_options.collision_strategy == "CANCEL_NEW"  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name("kim-dispatch").limit == 2
    again = runner.invoke(app, ["deploy"])
    assert again.exit_code == 0 and "angelegt" not in again.output, again.output  # the pool exists now
    second = deployments()
    assert {name: d.id for name, d in second.items()} == {name: d.id for name, d in first.items()}  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        again_ours = {a.name: a.id for a in client.read_automations() if a.name.startswith("kim: ")}
    assert sorted(again_ours) == ours  # updated in place, not duplicated


def test_a_worker_picks_up_a_run_of_the_pool_and_completes_it(api_url: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    assert runner.invoke(app, ["deploy"]).exit_code == 0
    kim = Path(sys.executable).with_name("kim")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(kim), "worker", "--name", "test-worker"], env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        run = run_deployment("registry-check/registry-check", timeout=0)
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                state = client.read_flow_run(run.id).state
                if state is not None and state.is_final():
                    break
                time.sleep(1)
        assert state is not None and state.is_completed(), (state, (tmp_path / "worker.log").read_text())
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()


def test_kim_relay_sends_a_queued_email_within_seconds_and_stops_on_sigterm(
    api_url: str, smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_all_active(Path(os.environ["KIM_DATA_DIR"]) / "policies")  # a year without applications
    (tmp_path / "c.csv").write_text(
        "ags,name,email,role\n07315000,Anna Beispiel,im@mainz.example,integration_manager\n", encoding="utf-8"
    )
    for args in (["seed"], ["contacts", "import", "c.csv", "--mode", "merge", "--apply"], ["cycle", "open", "--year",
                 "2026"]):  # fmt: skip
        assert runner.invoke(app, args).exit_code == 0
    env = {**os.environ, "KIM_SMTP_HOST": smtp_server.host, "KIM_SMTP_PORT": str(smtp_server.port)}
    kim = Path(sys.executable).with_name("kim")
    relay = subprocess.Popen([str(kim), "relay"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        recorded = runner.invoke(app, ["submission", "record", "--ags", "07315000", "--year", "2026",
                                       "--kind", "annual_report", "--received-on", "2026-11-20"])  # fmt: skip
        assert recorded.exit_code == 0, recorded.output
        deadline = time.monotonic() + 30
        while not smtp_server.handler.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [r.rcpt_tos for r in smtp_server.handler.received] == [["im@mainz.example"]]
    finally:
        relay.send_signal(signal.SIGTERM)
        output = relay.communicate(timeout=60)[0]
    assert relay.returncode == 0 and "Relais beendet" in output, output
