"""Who owes the year's deliverables (core/obligations) and the policy keys that steer it and the escalation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kim_workflow.core.domain import ApplicationStatus as S
from kim_workflow.core.obligations import Obligation, ObligationBasis, obligation, summary_de, waiver_reason
from kim_workflow.core.policy import PolicyError, parse_policy, policy_to_dict
from kim_workflow.core.status import DeliverableView, DerivedStatus

APPROVED, ALL = ObligationBasis.APPROVED, ObligationBasis.ALL_ACTIVE


@pytest.mark.parametrize(
    ("basis", "status", "expected", "owed", "waived"),
    [
        (APPROVED, S.APPROVED, Obligation.APPROVED, True, False),
        (APPROVED, S.REJECTED, Obligation.REJECTED, False, True),
        (APPROVED, S.CHANGES_REQUESTED, Obligation.UNDECIDED, False, False),
        (APPROVED, S.SUBMITTED, Obligation.UNDECIDED, False, False),
        (APPROVED, S.DRAFT, Obligation.UNDECIDED, False, False),
        (APPROVED, None, Obligation.NO_APPLICATION, False, False),
        (APPROVED, S.WITHDRAWN, Obligation.WITHDRAWN, False, True),
        (ALL, S.APPROVED, Obligation.ALL_ACTIVE, True, False),
        (ALL, S.REJECTED, Obligation.ALL_ACTIVE, True, False),
        (ALL, S.CHANGES_REQUESTED, Obligation.ALL_ACTIVE, True, False),
        (ALL, S.SUBMITTED, Obligation.ALL_ACTIVE, True, False),
        (ALL, None, Obligation.ALL_ACTIVE, True, False),
        (ALL, S.WITHDRAWN, Obligation.ALL_ACTIVE, True, False),
    ],
)
def test_the_obligation_follows_the_decision_unless_the_year_runs_without_applications(
    basis: ObligationBasis, status: S | None, expected: Obligation, owed: bool, waived: bool
) -> None:
    reason = obligation(basis, status)
    assert (reason, reason.owed, reason.waived) == (expected, owed, waived)


@pytest.mark.parametrize(
    ("kept", "expected", "owed"),
    [(False, Obligation.REVOKED, False), (True, Obligation.REVOKED_KEPT, True)],
    ids=["nothing-remains-waived", "money-kept-owed"],
)
def test_a_revocation_waives_the_reports_only_when_nothing_of_the_grant_remains(
    kept: bool, expected: Obligation, owed: bool
) -> None:
    reason = obligation(APPROVED, S.REVOKED, kept=kept)
    assert (reason, reason.owed, reason.waived) == (expected, owed, not owed)
    assert obligation(APPROVED, S.APPROVED, kept=kept) is Obligation.APPROVED  # "kept" matters only when revoked
    line = summary_de([Obligation.APPROVED, expected], per_kommune=2)
    assert line.startswith(f"2 aktive Kommunen: 1 mit bewilligtem Antrag{', 1 widerrufen' if kept else ''}")
    assert f"→ {4 if kept else 2} Berichtspflichten" in line


def test_plain_strings_are_read_too() -> None:
    assert obligation("approved", "rejected") is Obligation.REJECTED  # type: ignore[arg-type]
    assert obligation("all_active", None) is Obligation.ALL_ACTIVE  # type: ignore[arg-type]


def test_the_waiver_reason_is_dated() -> None:
    assert waiver_reason(Obligation.REJECTED, date(2026, 3, 1)) == "Antrag abgelehnt am 01.03.2026"
    assert waiver_reason(Obligation.WITHDRAWN, date(2026, 3, 9)) == "Antrag zurückgezogen am 09.03.2026"
    assert waiver_reason(Obligation.REVOKED, date(2026, 10, 15)) == (
        "Förderung widerrufen mit Wirkung vom 15.10.2026 an (gefördert bis einschließlich 14.10.2026)"
    )
    assert waiver_reason(Obligation.REVOKED, date(2026, 3, 1)).endswith("bis einschließlich 28.02.2026)")


def test_the_summary_says_why_the_others_have_none() -> None:
    reasons = [Obligation.APPROVED] * 29 + [Obligation.NO_APPLICATION] * 4 + [Obligation.REJECTED] * 2
    reasons.append(Obligation.UNDECIDED)
    assert summary_de(reasons, per_kommune=2) == (
        "36 aktive Kommunen: 29 mit bewilligtem Antrag → 58 Berichtspflichten; 4 ohne Antrag, "
        "2 abgelehnt (entfällt), 1 noch nicht entschieden"
    )
    assert summary_de([Obligation.ALL_ACTIVE] * 36, per_kommune=2) == (
        '36 aktive Kommunen: alle berichtspflichtig (Richtlinie: obligations = "all_active") → 72 Berichtspflichten'
    )
    assert summary_de([Obligation.NO_APPLICATION], per_kommune=2) == (
        "1 aktive Kommune: 0 mit bewilligtem Antrag → 0 Berichtspflichten; 1 ohne Antrag"
    )


def test_a_waived_deliverable_shows_entfaellt_with_its_reason_whatever_the_date() -> None:
    view = DeliverableView(date(2026, 12, 15), date(2026, 12, 15), None, "Antrag abgelehnt am 01.03.2026", True)
    for today in (date(2026, 11, 1), date(2027, 1, 10)):
        assert view.status(today) is DerivedStatus.WAIVED
        assert view.label(today) == "entfällt (Antrag abgelehnt am 01.03.2026)"


def test_policy_defaults_and_a_snapshot_round_trip() -> None:
    policy = parse_policy(2026, {})
    assert policy.report.obligations is ObligationBasis.APPROVED and policy.report.escalation_cc == ()
    data = {"report": {"obligations": "all_active", "escalation_cc": ["Referatsleitung@MFFKI.rlp.de"]}}
    changed = parse_policy(2026, data)
    assert changed.report.obligations is ObligationBasis.ALL_ACTIVE
    assert changed.report.escalation_cc == ("Referatsleitung@mffki.rlp.de",)
    assert parse_policy(2026, policy_to_dict(changed)) == changed


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"obligations": "alle"}, "report.obligations: 'alle' ist nicht zulässig (erlaubt: approved, all_active)"),
        ({"escalation_cc": "a@b.de"}, "report.escalation_cc"),
        ({"escalation_cc": ["kein-at"]}, "report.escalation_cc[0]: ungültige E-Mail-Adresse"),
        ({"escalation_cc": ["a@b.de", "A@B.de"]}, "report.escalation_cc"),
        ({"escalation_cc": ["a@b.de\nBcc: x@y.de"]}, "report.escalation_cc[0]"),
    ],
)
def test_bad_policy_values_are_refused_in_german(report: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_policy(2026, {"report": report})
