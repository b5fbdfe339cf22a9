"""The year's budget ceiling (``[funding] budget_total_eur``): reached exactly, exceeded by a cent, overridden."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.core.budget import BudgetState, budget_problems
from kim_workflow.core.domain import ApplicationStatus, DecisionOutcome
from kim_workflow.db.engine import session_scope
from kim_workflow.services.decision_runs import claim_decision_run
from kim_workflow.services.decisions import DecisionRequest, InvalidDecision
from kim_workflow.settings import Settings
from tests.integration.test_applications import MAINZ, NOW, counts, events, submit, year_2026
from tests.support.four_eyes import decide_and_confirm

__all__ = ["year_2026"]  # the fixture, shared with the application tests

KOBLENZ = "07111000"
GRANT = Decimal("57000")  # 45.000 € personnel + 12.000 € material, for each of the two approvals below


def with_ceiling(settings: Settings, ceiling: str) -> None:
    settings.policy_dir.mkdir(parents=True, exist_ok=True)
    (settings.policy_dir / "2026.toml").write_text(f'[funding]\nbudget_total_eur = "{ceiling}"\n', encoding="utf-8")


def approve(engine: Engine, settings: Settings, ags: str, reason: str | None = None) -> None:
    request = DecisionRequest(
        outcome=DecisionOutcome.APPROVED, decided_by="Referentin", granted_personnel_eur=Decimal("45000"),
        granted_material_eur=Decimal("12000"), budget_override_reason=reason,
    )  # fmt: skip
    with session_scope(engine) as session:
        decide_and_confirm(session, settings, request=request, now=NOW, ags=ags, year=2026)


@pytest.fixture
def one_approved(year_2026: Engine, settings: Settings) -> Engine:
    """Koblenz approved (57.000 €), Mainz submitted and waiting."""
    submit(year_2026, settings, ags=KOBLENZ)
    submit(year_2026, settings)
    approve(year_2026, settings, KOBLENZ)
    return year_2026


@pytest.mark.parametrize(
    ("left", "allowed"),
    [(GRANT + Decimal("0.01"), True), (GRANT, True), (GRANT - Decimal("0.01"), False), (Decimal(0), False)],
    ids=["a-cent-more-left", "exactly-reached", "a-cent-short", "nothing-left"],
)
def test_the_rule_at_below_and_above_the_ceiling(left: Decimal, allowed: bool) -> None:
    state = BudgetState(ceiling=Decimal("100000"), granted=Decimal("100000") - left)
    assert (budget_problems(state, GRANT, None) == []) is allowed
    assert budget_problems(state, GRANT, "Nachbewilligung aus Restmitteln") == []
    assert budget_problems(BudgetState(None, Decimal("1e9")), GRANT, None) == []


def test_an_approval_that_reaches_the_ceiling_exactly_is_stored(one_approved: Engine, settings: Settings) -> None:
    with_ceiling(settings, str(2 * GRANT))
    approve(one_approved, settings, MAINZ)
    [_, decided] = events(one_approved, "kim.application.decided")
    assert decided.payload["budget_override_reason"] is None


def test_a_cent_over_the_ceiling_is_refused_and_nothing_changes(one_approved: Engine, settings: Settings) -> None:
    with_ceiling(settings, str(2 * GRANT - Decimal("0.01")))
    before = counts(one_approved)
    with pytest.raises(InvalidDecision) as refused:
        approve(one_approved, settings, MAINZ)
    assert "übersteigt das verbleibende Jahresbudget von 56.999,99 €" in str(refused.value)
    assert "Jahresbudget 113.999,99 €: bewilligt 57.000,00 €, verbleibend 56.999,99 €" in str(refused.value)
    assert counts(one_approved) == before


def test_an_override_with_a_reason_is_stored_and_logged(one_approved: Engine, settings: Settings) -> None:
    with_ceiling(settings, "60000")
    approve(one_approved, settings, MAINZ, reason="  Restmittel aus 2025 (Vermerk vom 3.2.)  ")
    [_, decided] = events(one_approved, "kim.application.decided")
    assert decided.payload["budget_override_reason"] == "Restmittel aus 2025 (Vermerk vom 3.2.)"


def test_the_decision_form_and_the_list_show_what_is_left(
    one_approved: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_ceiling(settings, "200000")
    with session_scope(one_approved) as session:
        [application_id] = [
            e.payload["application_id"] for e in events(one_approved, "kim.application.submitted")
            if e.payload.get("ags") == MAINZ
        ]  # fmt: skip
        pending = claim_decision_run(session, settings, application_id=application_id, run_id="r1")
    assert pending.status is ApplicationStatus.SUBMITTED
    assert "Jahresbudget 200.000,00 €: bewilligt 57.000,00 €, verbleibend 143.000,00 €." in pending.summary
    monkeypatch.setenv("KIM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KIM_DATA_DIR", str(settings.data_dir))
    listed = CliRunner().invoke(app, ["application", "list", "--year", "2026"])
    assert listed.exit_code == 0 and "verbleibend 143.000,00 €" in " ".join(listed.output.split())
    decided = CliRunner().invoke(
        app,
        [
            "application",
            "decide",
            "--ags",
            MAINZ,
            "--year",
            "2026",
            "--approve",
            "--personnel",
            "45000",
            "--material",
            "12000",
            "--budget-override",
            "x",
            "--actor",
            "Referentin",
        ],
    )
    assert decided.exit_code == 0, decided.output  # within the budget the reason is not needed, and harmless
