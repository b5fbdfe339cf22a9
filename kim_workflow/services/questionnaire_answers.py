"""A Kommune's answers to the year's Fragebogen: draft, submission, correction (each an event), and reading them.

Rules: a draft may be incomplete (values are checked, required answers not); submitting checks everything and
makes the answers read-only; afterwards only :func:`correct` changes them, as a new revision with a reason and the
person. Answers to questions the Kommune's other answers (or its kind) hide are discarded. Nothing is stored when a
value is refused: the result lists every problem by question id (German). Submitting records the questionnaire
as received through :func:`~kim_workflow.services.notifications.record_submission_and_confirm` — the use case and
event (``kim.submission.received``) of ``kim submission record`` — so its reminders stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus
from kim_workflow.core.questionnaire import AnswerSource, AnswerStatus, AnswerValue, Questionnaire
from kim_workflow.core.questionnaire_answers import (
    AnswerProblem,
    RawAnswers,
    answers_from_json,
    answers_to_json,
    convert_answers,
    drop_hidden,
    validate_answers,
)
from kim_workflow.core.validation import InvalidValueError, check_header_safe
from kim_workflow.db.events import record_event
from kim_workflow.db.limits import max_length
from kim_workflow.db.models import Deliverable, Kommune, QuestionnaireAnswers, QuestionnaireAnswersRevision
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import cycle_for, id_of, kommune_by_ags
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.questionnaires import load_questionnaire
from kim_workflow.services.submissions import SubmissionOutcome
from kim_workflow.settings import Settings

REASON_MAX = max_length(QuestionnaireAnswersRevision, "reason")
BY_MAX = max_length(QuestionnaireAnswers, "updated_by")


@dataclass(frozen=True)
class AnswersResult:
    """What a save, submission or correction did; ``saved`` is False (nothing changed) when ``problems``."""

    kommune: Kommune
    year: int
    questionnaire: Questionnaire
    values: dict[str, AnswerValue]
    """The answers as stored now (or as entered, if refused), typed."""
    problems: list[AnswerProblem]
    saved: bool
    status: AnswerStatus | None
    revision: int
    submission: SubmissionOutcome | None = None
    """Set by a submission: the questionnaire deliverable recorded as received (or already recorded)."""


@dataclass(frozen=True)
class RevisionInfo:
    revision: int
    created_at: datetime
    created_by: str
    source: AnswerSource
    reason: str | None
    questionnaire_version: str


@dataclass(frozen=True)
class StoredAnswers:
    kommune: Kommune
    year: int
    status: AnswerStatus
    questionnaire_version: str
    values: dict[str, AnswerValue]
    revision: int
    updated_at: datetime
    updated_by: str
    submitted_at: datetime | None
    submitted_by: str | None
    revisions: list[RevisionInfo] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerContext:
    """What every step needs: the Kommune, the year's questionnaire, the stored answers (if any)."""

    kommune: Kommune
    questionnaire: Questionnaire
    row: QuestionnaireAnswers | None


def answer_context(session: Session, settings: Settings, *, year: int, ags: str) -> AnswerContext:
    """The Kommune, the year's questionnaire and the stored answers; refuses a Kommune that owes no Fragebogen
    for ``year`` (none or waived)."""
    kommune = kommune_by_ags(session, ags)
    cycle_for(session, year)
    deliverable = session.exec(
        select(Deliverable).where(
            col(Deliverable.kommune_id) == kommune.id,
            col(Deliverable.year) == year,
            col(Deliverable.kind) == DeliverableKind.QUESTIONNAIRE,
        )
    ).first()
    if deliverable is None:
        raise UseCaseError(f"{kommune.name} ({kommune.ags}) schuldet für {year} keinen Fragebogen.")
    if deliverable.status is DeliverableStatus.WAIVED:
        raise UseCaseError(f"Für {kommune.name} entfällt der Fragebogen {year} ({deliverable.waived_reason}).")
    return AnswerContext(kommune, load_questionnaire(year, settings.questionnaire_dir), _row(session, kommune, year))


def _row(session: Session, kommune: Kommune, year: int) -> QuestionnaireAnswers | None:
    return session.exec(
        select(QuestionnaireAnswers).where(
            col(QuestionnaireAnswers.kommune_id) == kommune.id, col(QuestionnaireAnswers.year) == year
        )
    ).first()


def _person(by: str) -> str:
    by = by.strip()
    if not by or len(by) > BY_MAX:
        raise UseCaseError(f"Bitte geben Sie an, wer die Angaben macht (1 bis {BY_MAX} Zeichen).")
    try:
        return check_header_safe(by, field="Name")
    except InvalidValueError as exc:
        raise UseCaseError(str(exc)) from None


def refuse_if_submitted(ctx: AnswerContext) -> None:
    row = ctx.row
    if row is not None and row.status is AnswerStatus.SUBMITTED:
        when = f" am {row.submitted_at:%d.%m.%Y}" if row.submitted_at else ""
        raise UseCaseError(
            f"Der Fragebogen {row.year} von {ctx.kommune.name} wurde bereits{when} eingereicht und kann nur noch "
            "mit Begründung korrigiert werden (kim questionnaire correct)."
        )


def _checked(ctx: AnswerContext, raw: RawAnswers, *, final: bool) -> tuple[dict[str, AnswerValue], list[AnswerProblem]]:
    converted = convert_answers(ctx.questionnaire, raw)
    values = drop_hidden(ctx.questionnaire, converted.values, ctx.kommune.kind)
    return values, converted.problems + validate_answers(ctx.questionnaire, values, ctx.kommune.kind, final=final)


def save_draft(
    session: Session, settings: Settings, *, year: int, ags: str, raw_answers: RawAnswers, by: str, now: datetime
) -> AnswersResult:
    """Store the form's answers as the draft (replacing the previous draft); refused values: nothing stored."""
    by = _person(by)
    ctx = answer_context(session, settings, year=year, ags=ags)
    refuse_if_submitted(ctx)
    values, problems = _checked(ctx, raw_answers, final=False)
    if problems:
        return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, problems, False, _status(ctx.row), 0)
    row = ctx.row or QuestionnaireAnswers(kommune_id=id_of(ctx.kommune), year=year, status=AnswerStatus.DRAFT,
                                          questionnaire_version="", updated_at=now, updated_by=by)  # fmt: skip
    row.answers, row.questionnaire_version = answers_to_json(values), ctx.questionnaire.version
    row.updated_at, row.updated_by = now, by
    session.add(row)
    _event(session, ctx, year, now, by, "kim.questionnaire.draft_saved", answered=len(values))
    return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, [], True, AnswerStatus.DRAFT, 0)


def submit(
    session: Session, settings: Settings, *, year: int, ags: str, raw_answers: RawAnswers | None = None, by: str,
    now: datetime, today: date, source: AnswerSource = AnswerSource.PORTAL,
) -> AnswersResult:  # fmt: skip
    """Submit the form's answers (or, without ``raw_answers``, the stored draft) after the final check; then the
    answers are read-only and the questionnaire is recorded as received (``today``; confirmation email queued)."""
    by = _person(by)
    ctx = answer_context(session, settings, year=year, ags=ags)
    refuse_if_submitted(ctx)
    if raw_answers is None:
        stored = answers_from_json(ctx.questionnaire, ctx.row.answers) if ctx.row else {}
        values = drop_hidden(ctx.questionnaire, stored, ctx.kommune.kind)
        problems = validate_answers(ctx.questionnaire, values, ctx.kommune.kind, final=True)
    else:
        values, problems = _checked(ctx, raw_answers, final=True)
    return submit_values(session, settings, ctx=ctx, year=year, values=values, problems=problems, by=by, now=now,
                         today=today, source=source)  # fmt: skip


def submit_values(
    session: Session, settings: Settings, *, ctx: AnswerContext, year: int, values: dict[str, AnswerValue],
    problems: list[AnswerProblem], by: str, now: datetime, today: date, source: AnswerSource,
) -> AnswersResult:  # fmt: skip
    """The submission step shared by :func:`submit` and the workbook import (values already checked)."""
    if problems:
        return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, problems, False, _status(ctx.row), 0)
    row = ctx.row or QuestionnaireAnswers(kommune_id=id_of(ctx.kommune), year=year, status=AnswerStatus.DRAFT,
                                          questionnaire_version="", updated_at=now, updated_by=by)  # fmt: skip
    row.status, row.revision = AnswerStatus.SUBMITTED, 1
    row.answers, row.questionnaire_version = answers_to_json(values), ctx.questionnaire.version
    row.updated_at, row.updated_by, row.submitted_at, row.submitted_by = now, by, now, by
    session.add(row)
    session.flush()
    _revision(session, row, source=source, reason=None, now=now, by=by)
    _event(session, ctx, year, now, by, "kim.questionnaire.submitted", answered=len(values), revision=1,
           source=source.value)  # fmt: skip
    outcome = record_submission_and_confirm(
        session, settings, ags=ctx.kommune.ags, year=year, kind=DeliverableKind.QUESTIONNAIRE, received_on=today,
        today=today, now=now, actor=by,
    )  # fmt: skip
    return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, [], True, AnswerStatus.SUBMITTED, 1, outcome)


def correct(
    session: Session, settings: Settings, *, year: int, ags: str, raw_answers: RawAnswers, reason: str, by: str,
    now: datetime, source: AnswerSource = AnswerSource.CLI,
) -> AnswersResult:  # fmt: skip
    """Change submitted answers as a new revision: ``raw_answers`` holds the changed fields (an empty one clears
    its answer); the result must pass the final check. The reason and the person are kept with the revision."""
    by, reason = _person(by), _reason(reason)
    ctx = answer_context(session, settings, year=year, ags=ags)
    row = ctx.row
    if row is None or row.status is not AnswerStatus.SUBMITTED:
        raise UseCaseError(
            f"{ctx.kommune.name} hat den Fragebogen {year} noch nicht eingereicht; nichts zu korrigieren."
        )
    before = answers_from_json(ctx.questionnaire, row.answers)
    converted = convert_answers(ctx.questionnaire, raw_answers)
    merged = {k: v for k, v in before.items() if k not in raw_answers} | converted.values
    values = drop_hidden(ctx.questionnaire, merged, ctx.kommune.kind)
    problems = converted.problems + validate_answers(ctx.questionnaire, values, ctx.kommune.kind, final=True)
    if problems:
        return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, problems, False, row.status, row.revision)
    changed = sorted(k for k in set(before) | set(values) if before.get(k) != values.get(k))
    if not changed:
        raise UseCaseError("Die Korrektur ändert keine Antwort; nichts gespeichert.")
    row.revision += 1
    row.answers, row.questionnaire_version = answers_to_json(values), ctx.questionnaire.version
    row.updated_at, row.updated_by = now, by
    session.add(row)
    _revision(session, row, source=source, reason=reason, now=now, by=by)
    _event(session, ctx, year, now, by, "kim.questionnaire.corrected", revision=row.revision, changed=changed,
           reason=reason)  # fmt: skip
    return AnswersResult(ctx.kommune, year, ctx.questionnaire, values, [], True, row.status, row.revision)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise UseCaseError("Bitte geben Sie einen Grund für die Korrektur an.")
    if len(reason) > REASON_MAX:
        raise UseCaseError(f"Grund: höchstens {REASON_MAX} Zeichen (nicht {len(reason)}); bitte kürzen.")
    try:
        return check_header_safe(reason, field="Grund")
    except InvalidValueError as exc:
        raise UseCaseError(str(exc)) from None


def load_answers(session: Session, settings: Settings, *, year: int, ags: str) -> StoredAnswers | None:
    """The stored answers (typed) with their revisions, or ``None`` if the Kommune has none for ``year``."""
    kommune = kommune_by_ags(session, ags)
    row = _row(session, kommune, year)
    if row is None:
        return None
    questionnaire = load_questionnaire(year, settings.questionnaire_dir)
    revisions = session.exec(
        select(QuestionnaireAnswersRevision)
        .where(col(QuestionnaireAnswersRevision.answers_id) == row.id)
        .order_by(col(QuestionnaireAnswersRevision.revision))
    ).all()
    return StoredAnswers(
        kommune=kommune, year=year, status=row.status, questionnaire_version=row.questionnaire_version,
        values=answers_from_json(questionnaire, row.answers), revision=row.revision, updated_at=row.updated_at,
        updated_by=row.updated_by, submitted_at=row.submitted_at, submitted_by=row.submitted_by,
        revisions=[RevisionInfo(r.revision, r.created_at, r.created_by, r.source, r.reason, r.questionnaire_version)
                   for r in revisions],
    )  # fmt: skip


def _status(row: QuestionnaireAnswers | None) -> AnswerStatus | None:
    return row.status if row is not None else None


def _revision(
    session: Session, row: QuestionnaireAnswers, *, source: AnswerSource, reason: str | None, now: datetime, by: str
) -> None:
    revision = QuestionnaireAnswersRevision(
        answers_id=id_of(row), revision=row.revision, questionnaire_version=row.questionnaire_version,
        answers=dict(row.answers), source=source, reason=reason, created_at=now, created_by=by,
    )  # fmt: skip
    session.add(revision)


def _event(
    session: Session, ctx: AnswerContext, year: int, now: datetime, by: str, action: str, **payload: object
) -> None:
    record_event(
        session, now=now, actor=by, action=action, subject_type="kommune", subject_id=ctx.kommune.ags, year=year,
        payload={"version": ctx.questionnaire.version, **payload},
    )  # fmt: skip
