"""A newcomer's first hour with the real ``kim up`` (fresh data folder, no SMTP settings), restarts included.

contacts → cycle → submission → confirmation in the Maildir within seconds; application → one waiting decision
form → ``kim up`` stopped by SIGINT, then killed by SIGKILL, restarted each time → a refused form reopens with the
reason on top → the valid form submitted through the Prefect API → decision stored and its email in the Maildir,
exactly once.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from kim_workflow.services import registry
from tests.support.databases import is_postgres
from tests.support.kim_up import KimUp, wait_for
from tests.support.obligations import write_all_active

MAINZ = "07315000"
APPLICATION = {
    "ags": MAINZ,
    "year": 2026,
    "staff": [{"name": "Erika Muster", "fte": "1.0"}],
    "personnel_costs_eur": "60000",
    "material_costs_eur": "20000",
    "overhead_costs_eur": "0",
    "position_in_administration": True,
}


def subjects(kim: KimUp) -> list[str]:
    return [str(m["Subject"]) for m in kim.mails()]


def decision_runs(kim: KimUp) -> list[dict[str, Any]]:
    return [r for r in kim.flow_runs("application-decision") if r["parameters"].get("application_id") == 1]


def waiting_forms(kim: KimUp) -> list[dict[str, Any]]:
    """Decision runs that wait for input with no process behind them (suspended) and whose form exists."""
    return [
        r for r in decision_runs(kim)
        if r["state"]["type"] == "PAUSED" and r["state"]["state_details"]["pause_reschedule"]
        and kim.has_input(r["id"], f"suspended-{r['state']['state_details']['pause_key']}-schema")
    ]  # fmt: skip


def form_description(kim: KimUp, run: dict[str, Any]) -> str:
    key = f"suspended-{run['state']['state_details']['pause_key']}-description"
    value: str = kim.api(f"/flow_runs/{run['id']}/input/{key}")
    return value


def resume(kim: KimUp, run_id: str, **answer: str) -> None:
    result = kim.api(f"/flow_runs/{run_id}/resume", {"run_input": {"decided_by": "Referentin", **answer}})
    assert result["status"] == "ACCEPT", result


@pytest.mark.timeout(900)
def test_kim_up_delivers_mail_and_keeps_a_decision_form_across_restarts(tmp_path: Path, database_url: str) -> None:
    """On the embedded default (SQLite), or on the test run's PostgreSQL schema when the suite runs on it."""
    policies = tmp_path / "data" / "policies"  # the application is on time: the deadline is enforced (#13)
    policies.mkdir(parents=True)
    (policies / "2026.toml").write_text('[application_window]\napplication_deadline = "--12-31"\n', encoding="utf-8")
    kim = KimUp(
        tmp_path / "data", tmp_path / "kim-up.log", database_url=database_url if is_postgres(database_url) else None
    )
    write_all_active(tmp_path / "data" / "policies")  # Mainz's report is recorded before any application
    kim.start()
    try:
        contacts = tmp_path / "contacts.csv"
        contacts.write_text(
            "ags,name,email,role\n"
            + "".join(f"{k.ags},IM {k.name},im{k.ags}@kommune.example,integration_manager\n"
                      for k in registry.reference_kommunen()),
            encoding="utf-8",
        )  # fmt: skip
        for command in (
            ["contacts", "import", str(contacts), "--mode", "merge", "--apply"],
            ["cycle", "open", "--year", "2026"],
        ):
            done = kim.kim(*command)
            assert done.returncode == 0, done.stdout + done.stderr

        recorded = kim.kim("submission", "record", "--ags", MAINZ, "--year", "2026", "--kind", "annual_report",
                           "--received-on", "2026-11-30")  # fmt: skip
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        returned = time.monotonic()
        [confirmation] = wait_for(kim.mails, "the confirmation in the Maildir", timeout=10)
        assert time.monotonic() - returned < 10
        assert confirmation["To"].addresses[0].addr_spec == f"im{MAINZ}@kommune.example"
        assert "Jahresbericht" in str(confirmation["Subject"])

        application = tmp_path / "application.json"
        application.write_text(json.dumps(APPLICATION), encoding="utf-8")
        submitted = kim.kim("application", "submit", str(application))
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        wait_for(lambda: len(kim.mails()) == 2, "the application receipt", timeout=10)
        [first] = wait_for(lambda: waiting_forms(kim), "the decision form", timeout=120)

        assert kim.stop(signal.SIGINT) == 0, kim.log()
        kim.start()
        assert [r["id"] for r in waiting_forms(kim)] == [first["id"]]
        assert kim.stop(signal.SIGKILL) == -signal.SIGKILL
        kim.start()
        assert [r["id"] for r in waiting_forms(kim)] == [first["id"]], "exactly one resumable form after a crash"

        resume(kim, first["id"], outcome="Bewilligen", granted_personnel_eur="60.000,01", granted_material_eur="20.000")
        reopened = wait_for(
            lambda: [r for r in waiting_forms(kim) if r["state"]["state_details"]["pause_key"].endswith("-a1")],
            "the refused form to reopen", timeout=120,
        )  # fmt: skip
        reason = form_description(kim, reopened[0]).split("---")[0]
        assert "nicht gespeichert" in reason and "60.000,01 € übersteigen" in reason, reason

        resume(kim, first["id"], outcome="Bewilligen", granted_personnel_eur="45.000", granted_material_eur="12.000,50")
        wait_for(lambda: decision_runs(kim)[0]["state"]["type"] == "COMPLETED", "the run to finish", timeout=120)
        pending = kim.kim("application", "pending", "--json")  # four eyes (#13): a second person confirms
        [waiting] = json.loads(pending.stdout)
        assert len(kim.mails()) == 2 and waiting["requested_by"] == "Referentin", pending.stdout
        refused = kim.kim("application", "confirm", str(waiting["grant_decision_id"]), "--by", "Referentin")
        assert refused.returncode == 2 and "Vier-Augen-Prinzip" in refused.stdout + refused.stderr
        confirmed = kim.kim("application", "confirm", str(waiting["grant_decision_id"]), "--by", "Referatsleitung")
        assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
        answered = time.monotonic()
        wait_for(lambda: len(kim.mails()) == 3, "the decision email", timeout=15)
        assert time.monotonic() - answered < 15
        time.sleep(2)  # anything sent twice would arrive now
        decisions = [s for s in subjects(kim) if "Bewilligung" in s]
        assert len(decisions) == 1 and len(kim.mails()) == 3, subjects(kim)

        listed = kim.kim("application", "list", "--year", "2026", "--json")
        [row] = [r for r in json.loads(listed.stdout)["rows"] if MAINZ in json.dumps(r)]
        assert "bewilligt" in json.dumps(row, ensure_ascii=False)
        assert len(decision_runs(kim)) == 1
    finally:
        if kim.process is not None:
            kim.stop(signal.SIGINT)
