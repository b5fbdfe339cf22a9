"""The current grant of an application from its grant decisions, and the rules of amendment, revocation, four eyes.

A grant decision (approval, amendment = Änderungsbescheid, revocation = Widerrufsbescheid) takes effect once it is
confirmed (four eyes: by a second person). The current grant is the latest confirmed approval or amendment; a
confirmed revocation ends it on its effective date. What a grant costs the year's budget is its pro-rata part
(``core/funded_period``) of the funded period, cut off the day before a revocation takes effect.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kim_workflow.core.domain import GrantActKind, GrantActState
from kim_workflow.core.funded_period import FundedPeriod, funded_share, pro_rata

REASON_MAX = 4000


@dataclass(frozen=True, slots=True)
class GrantAct:
    """One stored grant decision as the core sees it (in the order they were recorded)."""

    kind: GrantActKind
    state: GrantActState
    personnel: Decimal | None = None
    material: Decimal | None = None
    effective_on: date | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """The yearly amounts in force; ``revoked_on``: the day from which they no longer apply."""

    personnel: Decimal
    material: Decimal
    revoked_on: date | None = None

    @property
    def total(self) -> Decimal:
        return self.personnel + self.material


def current_grant(acts: Iterable[GrantAct]) -> Grant | None:
    """The grant in force after ``acts`` (confirmed ones only); ``None`` before the first confirmed approval."""
    grant: Grant | None = None
    for act in acts:
        if act.state is not GrantActState.CONFIRMED:
            continue
        if act.kind is GrantActKind.REVOCATION:
            if grant is not None and grant.revoked_on is None:
                grant = Grant(grant.personnel, grant.material, act.effective_on)
        elif grant is None or grant.revoked_on is None:  # nothing changes a revoked grant
            grant = Grant(act.personnel or Decimal(0), act.material or Decimal(0))
    return grant


@dataclass(frozen=True, slots=True)
class ProRata:
    """The grant for the funded part of the year (what it costs the budget)."""

    personnel: Decimal
    material: Decimal

    @property
    def total(self) -> Decimal:
        return self.personnel + self.material


def grant_pro_rata(grant: Grant, period: FundedPeriod, year: int) -> ProRata:
    """The yearly ``grant`` for ``period``, up to the day before its revocation (if any)."""
    until = grant.revoked_on - timedelta(days=1) if grant.revoked_on is not None else None
    share = funded_share(period, year, until=until)
    return ProRata(pro_rata(grant.personnel, share), pro_rata(grant.material, share))


def reason_problems(reason: str, what: str) -> list[str]:
    """A required reason (German problems; empty if fine)."""
    if not reason:
        return [f"Bitte die Begründung {what} angeben."]
    if len(reason) > REASON_MAX:
        return [f"Die Begründung {what} darf höchstens {REASON_MAX} Zeichen lang sein."]
    return []


def revocation_problems(effective_on: date, year: int, period: FundedPeriod) -> list[str]:
    """A revocation takes effect within the funding year, not before the funded period starts nor after it ends."""
    day = f"{effective_on:%d.%m.%Y}"
    if effective_on.year != year:
        return [f"Der Widerruf zum {day} liegt nicht im Förderjahr {year}."]
    if effective_on < period.start:
        return [f"Der Widerruf zum {day} liegt vor dem Beginn des Förderzeitraums ({period.start:%d.%m.%Y})."]
    if effective_on > period.end:
        return [
            f"Der Widerruf zum {day} liegt nach dem Ende des Bewilligungszeitraums ({period.end:%d.%m.%Y}); "
            "die Zuwendung ist dann bereits vollständig verwendet."
        ]
    return []


NAME_MAX = 200


def person_key(name: str) -> str:
    """A person's name as four eyes compares it: NFKC, case folded, inner spaces collapsed, stripped."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def same_person(first: str, second: str) -> bool:
    """Whether two names are the same person for four eyes (Unicode forms, case and spacing do not matter)."""
    return person_key(first) == person_key(second)


def person_problems(name: str, what: str) -> list[str]:
    """German problems of a person's name: 1 to 200 characters, one line, no invisible format characters (Cf)."""
    by = name.strip()
    if not by or len(by) > NAME_MAX or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in by):
        return [f"Bitte angeben, {what} (1 bis {NAME_MAX} Zeichen, eine Zeile)."]
    if has_format_characters(by):
        return [invisible_problem(what)]
    return []


def has_format_characters(name: str) -> bool:
    """Whether ``name`` holds invisible format characters (Unicode category Cf: zero-width, bidi marks, …)."""
    return any(unicodedata.category(c) == "Cf" for c in name)


def invisible_problem(what: str) -> str:
    return f"Der Name ({what}) enthält unsichtbare Steuerzeichen; bitte ohne sie eingeben."


def four_eyes_problem(requested_by: str, confirmed_by: str) -> str | None:
    """German refusal when the person confirming is the one who recorded the decision."""
    if same_person(requested_by, confirmed_by):
        return (
            f"Vier-Augen-Prinzip: {confirmed_by.strip()} hat die Entscheidung selbst erfasst; bestätigen oder "
            "verwerfen muss sie eine andere Person."
        )
    return None
