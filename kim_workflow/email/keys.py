"""Idempotency keys of the outbox and the refs they are built from, in one place.

A key is ``kind|subject_ref|occasion|to:recipient``. Existing outbox rows hold these strings: a builder here
must keep producing byte-identical keys (``tests/unit/test_keys.py`` pins some).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date

from kim_workflow.core.validation import InvalidValueError

KEY_MAX = 400


def outbox_key(kind: str, subject_ref: str, recipient: str, occasion: str) -> str:
    """``kind|subject_ref|occasion|to:recipient``; a tail beyond 400 characters is replaced by its sha256."""
    if not kind or "|" in kind:
        raise InvalidValueError(f"kind: darf nicht leer sein und kein '|' enthalten ({kind!r})")
    key = f"{kind}|{subject_ref}|{occasion}|to:{recipient.strip().lower()}"
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: KEY_MAX - len(digest) - 8]}|sha256:{digest}"


# --- subject refs (also the outbox's ``subject_ref`` column) ---------------------------------------------------


def deliverable_ref(ags: str, year: int) -> str:
    """Everything about one Kommune's deliverables in one year."""
    return f"kommune:{ags}:year:{year}"


_DELIVERABLE_REF = re.compile(r"kommune:(?P<ags>\d{8}):year:(?P<year>\d{4})")


def parse_deliverable_ref(ref: str) -> tuple[str, int] | None:
    """``(ags, year)`` of a :func:`deliverable_ref`, else None."""
    match = _DELIVERABLE_REF.fullmatch(ref)
    return (match["ags"], int(match["year"])) if match else None


def application_ref(ags: str, year: int) -> str:
    """Everything about one Kommune's application in one year."""
    return f"application:{ags}:year:{year}"


def kommune_ref(ags: str) -> str:
    """A Kommune as such (not a year): e.g. that it cannot be reached."""
    return f"kommune:{ags}"


def refs_of_year(year: int) -> str:
    """A ``LIKE`` pattern matching every deliverable and application ref of ``year``."""
    return f"%:year:{year}"


def meeting_ref(meeting_id: int) -> str:
    """Every email about one meeting."""
    return f"meeting:{meeting_id}"


def year_ref(year: int) -> str:
    """The ministry's escalation digest of one year."""
    return f"year:{year}"


def outbox_range_ref(first: int, last: int) -> str:
    """A delivery-problem report about outbox rows ``first`` to ``last``."""
    return f"outbox:{first}-{last}"


def invitee_ref(meeting_id: int, contact_id: int | None) -> str:
    """The reminder-log ref of one invitee of one meeting."""
    return f"meeting:{meeting_id}:contact:{contact_id}"


# --- key recipients ---------------------------------------------------------------------------------------------


def kommune_recipient(ags: str) -> str:
    """Replaces the address in keys of emails sent once per Kommune, whoever receives them."""
    return f"kommune:{ags}"


# --- occasions --------------------------------------------------------------------------------------------------

STAGE = "stage:"


DUE = "due:"


def stage_occasion(stage: str, due: date) -> str:
    """A ladder stage for a due date (deliverables, application window)."""
    return f"{STAGE}{stage}|{DUE}{due.isoformat()}"


def meeting_stage_occasion(stage: str, day: date) -> str:
    """A meeting reminder stage for the meeting day."""
    return f"{STAGE}{stage}|day:{day.isoformat()}"


def due_dates_occasion(due_dates: Iterable[date]) -> str:
    """The escalation digest for the due dates escalated for the first time."""
    return "due:" + ",".join(d.isoformat() for d in due_dates)


def sequence_occasion(sequence: int, more: str | None = None) -> str:
    """A meeting version (SEQUENCE), optionally with what the email is about in that version."""
    return "|".join(filter(None, [f"seq:{sequence}", more]))


def minutes_occasion(minutes_ref: str | None) -> str:
    ref = hashlib.sha256((minutes_ref or "").encode("utf-8")).hexdigest()[:16]
    return f"minutes:{ref}"


def decision_occasion(revision: int, outcome: str) -> str:
    return f"decision:rev{revision}:{outcome}"


def application_received_occasion(revision: int) -> str:
    return f"received:rev{revision}"


def submission_received_occasion(deliverable_kind: str) -> str:
    return f"received:{deliverable_kind}"


def deadline_changed_occasion(revision: int, due: date) -> str:
    """A deadline change: the deliverables' ``due_revision`` after it and the new due date."""
    return f"deadline:rev{revision}|due:{due.isoformat()}"


def deadline_calendar_uid(year: int, ags: str, sender_domain: str) -> str:
    """The UID of a Kommune's deadline in the calendar files of reminders and deadline changes."""
    return f"kim-deadline-{year}-{ags}@{sender_domain}"


def incident_occasion(first: int, last: int, count: int) -> str:
    return f"incident:{first}-{last}:{count}"


def unreachable_occasion(outbox_id: int) -> str:
    """The incident that left a Kommune without a reachable address: the outbox row whose bounce did it."""
    return f"unreachable:outbox:{outbox_id}"


def alert_ref(incident: str) -> str:
    """The subject of an operator alert: the incident's kind (``missed_sweep``, ``run_failed``)."""
    return f"alert:{incident}"


def alert_occasion(incident_id: str) -> str:
    """One operator alert per incident: the day of a missed sweep, or the flow run and its state."""
    return f"incident:{incident_id}"


def stage_in_key(key: str) -> str | None:
    """The ``stage:`` part of an outbox key, if it has one."""
    return next((part[len(STAGE) :] for part in key.split("|") if part.startswith(STAGE)), None)


def due_in_key(key: str) -> date | None:
    """The ``due:`` date of an outbox key made with :func:`stage_occasion`, if it has one."""
    text = next((part[len(DUE) :] for part in key.split("|") if part.startswith(DUE)), None)
    try:
        return None if text is None else date.fromisoformat(text)
    except ValueError:
        return None


def grant_occasion(grant_decision_id: int, kind: str) -> str:
    """An amendment or revocation (one grant decision, confirmed once)."""
    return f"grant:{grant_decision_id}:{kind}"
