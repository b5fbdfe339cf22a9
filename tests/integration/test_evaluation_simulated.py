"""The evaluation of a simulated December (``kim simulate`` answers, seeded): every aggregate recomputed here from
the stored rows (JSON as the database holds it), not through the evaluation's own code."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import DeliverableKind, KommuneKind
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Kommune, QuestionnaireAnswers
from kim_workflow.services.evaluation import evaluate_year
from kim_workflow.services.questionnaire_answers import load_answers
from kim_workflow.settings import Settings
from kim_workflow.simulation.runner import at, populate, simulate_year
from kim_workflow.simulation.scenario import Submit, build_scenario
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

YEAR = 2026
START, END = date(YEAR, 12, 1), date(YEAR, 12, 31)
LK, STADT = KommuneKind.LANDKREIS, KommuneKind.KREISFREIE_STADT


@pytest.fixture
def simulated(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> list[tuple[str, KommuneKind, dict[str, Any]]]:
    """Rows as stored: (AGS, kind, answers JSON) of every submitted questionnaire."""
    write_all_active(settings.policy_dir)
    ags = populate(engine, 36, now=at(date(YEAR - 1, 12, 31)))
    scenario = build_scenario(ags, year=YEAR, seed=11)
    result = simulate_year(engine, settings, scenario, kommunen=36, start=START, end=END)
    expected = {e.ags for d, events in scenario.events.items() if START <= d <= END for e in events
                if isinstance(e, Submit) and e.kind is DeliverableKind.QUESTIONNAIRE}  # fmt: skip
    assert result.events["questionnaire_answers"] == len(expected) > 10
    assert result.events["questionnaire_refused"] == 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(Kommune.ags, Kommune.kind, QuestionnaireAnswers.answers)
            .join(Kommune, col(Kommune.id) == col(QuestionnaireAnswers.kommune_id))
            .where(col(QuestionnaireAnswers.year) == YEAR)
        ).all()
    assert {r[0] for r in rows} == expected
    return [(a, KommuneKind(k), dict(answers)) for a, k, answers in rows]


def test_the_evaluation_of_a_simulated_year_matches_a_recount_of_the_stored_answers(
    engine: Engine, settings: Settings, simulated: list[tuple[str, KommuneKind, dict[str, Any]]]
) -> None:
    with session_scope(engine) as session:
        evaluation = evaluate_year(session, year=YEAR, questionnaire_dir=settings.questionnaire_dir)
        one = load_answers(session, settings, year=YEAR, ags=simulated[0][0])
    assert one is not None and one.status == "submitted"
    summary = evaluation.summary
    kinds = Counter(kind for _, kind, _ in simulated)
    assert summary.kommunen[None] == 36 and summary.submitted[None] == len(simulated)
    assert (summary.submitted[LK], summary.submitted[STADT]) == (kinds[LK], kinds[STADT])

    required = summary.of("bestandsaufnahme.status")
    assert (required.answered, required.missing, required.not_applicable) == (len(simulated), 0, 0)

    landkreise = summary.of("gemeinden.einbindung", LK), summary.of("gemeinden.einbindung", STADT)
    assert landkreise[0].answered == kinds[LK] and landkreise[1].not_applicable == kinds[STADT]
    assert landkreise[1].answered == 0

    amounts = [Fraction(str(a["sachkosten.betrag"])) for _, _, a in simulated if "sachkosten.betrag" in a]
    numbers = summary.of("sachkosten.betrag").numbers
    assert numbers is not None and amounts
    assert Fraction(numbers.total) == sum(amounts)
    assert abs(Fraction(numbers.mean) - sum(amounts) / len(amounts)) < Fraction(1, 10**20)
    assert Fraction(numbers.median) == statistics.median(amounts)
    assert (Fraction(numbers.minimum), Fraction(numbers.maximum)) == (min(amounts), max(amounts))
    hidden = sum(1 for _, _, a in simulated if a.get("sachkosten.verwendet") is False)
    assert summary.of("sachkosten.betrag").not_applicable == hidden

    fields = Counter(code for _, _, a in simulated for code in a.get("handlungsfelder.bearbeitet", []))
    counted = {c.code: c.count for c in summary.of("handlungsfelder.bearbeitet").distribution}
    assert counted == {code: fields[code] for code in counted}
    answered = sum(1 for _, _, a in simulated if "handlungsfelder.bearbeitet" in a)
    shares = {c.code: c.share for c in summary.of("handlungsfelder.bearbeitet").distribution}
    assert shares["wohnen"] == Decimal(fields["wohnen"]) / Decimal(answered)

    optional = [a for _, _, a in simulated if "austausch.nutzen" in a]
    nutzen = summary.of("austausch.nutzen")
    assert (nutzen.answered, nutzen.skipped) == (len(optional), len(simulated) - len(optional))
