"""Who owes annual report and questionnaire (pure): the obligation follows the funding decision.

``ObligationBasis.APPROVED`` (the default): a Kommune owes its deliverables when its application for the year
is approved; a rejected or withdrawn application waives them ("entfällt"); without a decision it owes nothing
yet. ``ObligationBasis.ALL_ACTIVE``: every active Kommune owes them (a year run without applications).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

from kim_workflow.core.domain import ApplicationStatus


class ObligationBasis(StrEnum):
    APPROVED = "approved"
    ALL_ACTIVE = "all_active"


class Obligation(StrEnum):
    """Why a Kommune does (or does not) owe the year's deliverables."""

    ALL_ACTIVE = "all_active"  # owed: the year runs without applications
    APPROVED = "approved"  # owed: application approved
    NO_APPLICATION = "no_application"  # none: never applied
    UNDECIDED = "undecided"  # none yet: draft, submitted or changes requested
    REJECTED = "rejected"  # waived
    WITHDRAWN = "withdrawn"  # waived
    REVOKED = "revoked"  # waived: the grant was revoked as a whole (outstanding reports only; received ones stay)
    REVOKED_KEPT = "revoked_kept"  # owed: revoked later, the Kommune keeps money for the months before

    @property
    def owed(self) -> bool:
        return self in (Obligation.ALL_ACTIVE, Obligation.APPROVED, Obligation.REVOKED_KEPT)

    @property
    def waived(self) -> bool:
        return self in (Obligation.REJECTED, Obligation.WITHDRAWN, Obligation.REVOKED)


_BY_STATUS = {
    ApplicationStatus.APPROVED: Obligation.APPROVED,
    ApplicationStatus.REJECTED: Obligation.REJECTED,
    ApplicationStatus.WITHDRAWN: Obligation.WITHDRAWN,
    ApplicationStatus.REVOKED: Obligation.REVOKED,
}

_WAIVER_TEXT = {
    Obligation.REJECTED: "Antrag abgelehnt am {on}",
    Obligation.WITHDRAWN: "Antrag zurückgezogen am {on}",
    # on: the day the revocation takes effect; until: the day before, the last funded day
    Obligation.REVOKED: "Förderung widerrufen mit Wirkung vom {on} an (gefördert bis einschließlich {until})",
}


def obligation(basis: ObligationBasis, status: ApplicationStatus | None, *, kept: bool = False) -> Obligation:
    """The obligation of an active Kommune whose application for the year has ``status`` (None: no application).

    ``kept``: for a revoked grant, whether the Kommune keeps money for the time before the revocation (pro rata
    above 0). Then the reports stay owed: they prove the use of that money (Verwendungsnachweis). Only a grant
    revoked as a whole (e.g. effective at the funded period's start) waives them.
    """
    if ObligationBasis(basis) is ObligationBasis.ALL_ACTIVE:
        return Obligation.ALL_ACTIVE
    if status is None:
        return Obligation.NO_APPLICATION
    found = _BY_STATUS.get(ApplicationStatus(status), Obligation.UNDECIDED)
    return Obligation.REVOKED_KEPT if found is Obligation.REVOKED and kept else found


def waiver_reason(reason: Obligation, on: date) -> str:
    """The German reason stored with a waiver, e.g. "Antrag abgelehnt am 03.06.2026" (a revocation: its date)."""
    return _WAIVER_TEXT[reason].format(on=f"{on:%d.%m.%Y}", until=f"{on - timedelta(days=1):%d.%m.%Y}")


def summary_de(reasons: Iterable[Obligation], *, per_kommune: int) -> str:
    """One line for ``kim cycle open``: how many obligations exist and why the other Kommunen have none.

    E.g. "36 aktive Kommunen: 29 mit bewilligtem Antrag → 58 Berichtspflichten; 4 ohne Antrag, 2 abgelehnt
    (entfällt), 1 noch nicht entschieden".
    """
    counts = Counter(reasons)
    total = sum(counts.values())
    if counts[Obligation.ALL_ACTIVE]:
        owed, who = counts[Obligation.ALL_ACTIVE], 'alle berichtspflichtig (Richtlinie: obligations = "all_active")'
    else:
        owed = counts[Obligation.APPROVED] + counts[Obligation.REVOKED_KEPT]
        who = f"{counts[Obligation.APPROVED]} mit bewilligtem Antrag"
        if counts[Obligation.REVOKED_KEPT]:
            who += f", {counts[Obligation.REVOKED_KEPT]} widerrufen mit anteiliger Zuwendung (Verwendungsnachweis)"
    duties = owed * per_kommune
    head = f"{total} aktive {'Kommune' if total == 1 else 'Kommunen'}: {who} → {duties} " + (
        "Berichtspflicht" if duties == 1 else "Berichtspflichten"
    )
    others = [
        f"{counts[reason]} {label}"
        for reason, label in (
            (Obligation.NO_APPLICATION, "ohne Antrag"),
            (Obligation.REJECTED, "abgelehnt (entfällt)"),
            (Obligation.WITHDRAWN, "zurückgezogen (entfällt)"),
            (Obligation.REVOKED, "widerrufen (entfällt)"),
            (Obligation.UNDECIDED, "noch nicht entschieden"),
        )
        if counts[reason]
    ]
    return "; ".join([head, ", ".join(others)]) if others else head
