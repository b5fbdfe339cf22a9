"""The Fragebogen page: the year's questionnaire as a form (conditions re-evaluated on every save), German
messages next to each field, a draft saved without submitting, the final submit through the questionnaire
service (the questionnaire recorded as received like ``kim submission record``)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from kim_workflow.core.questionnaire import AnswerStatus
from kim_workflow.core.questionnaire_answers import RawAnswer
from kim_workflow.core.registry import display_name
from kim_workflow.portal.context import CSRF_FIELD, Portal, check_csrf, send_soon
from kim_workflow.portal.questionnaire_form import build_form, problem_summary
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.portal_pages import ags_of
from kim_workflow.services.portal_sessions import SignedIn
from kim_workflow.services.questionnaire_answers import AnswersResult, answer_context, load_answers, save_draft, submit

FORM_FIELDS_MAX = 500
NOTICES = {"entwurf": "Ihre Angaben sind als Entwurf gespeichert. Sie können sie jederzeit weiter bearbeiten."}


def router(portal: Portal) -> APIRouter:
    r = APIRouter(prefix="/kommune/fragebogen")

    def kommune_user(session: Session, request: Request) -> SignedIn | None:
        user = portal.user(session, request)
        return user if user is not None and user.kommune_id is not None and user.year is not None else None

    def render(
        request: Request, session: Session, user: SignedIn, *, status_code: int = 200,
        result: AnswersResult | None = None,
        raw: dict[str, RawAnswer] | None = None, error: str | None = None,
    ) -> Response:  # fmt: skip
        assert user.kommune_id is not None and user.year is not None
        ags = ags_of(session, user.kommune_id)
        ctx = answer_context(session, portal.settings, year=user.year, ags=ags)
        stored = load_answers(session, portal.settings, year=user.year, ags=ags)
        values = result.values if result is not None else (stored.values if stored else {})
        problems = result.problems if result is not None else []
        return portal.page(
            request, "fragebogen.html", status_code=status_code, questionnaire=ctx.questionnaire, year=user.year,
            kommune_name=display_name(ctx.kommune.name, ctx.kommune.kind), stored=stored, submitted=stored is not None
            and stored.status is AnswerStatus.SUBMITTED, error=error,
            sections=build_form(ctx.questionnaire, ctx.kommune.kind, values, raw=raw, problems=problems),
            summary=problem_summary(problems, ctx.questionnaire),
            notice=NOTICES.get(request.query_params.get("ok", "")), ministry=False,
        )  # fmt: skip

    @r.get("")
    def page(request: Request) -> Response:
        with portal.read() as session:
            user = kommune_user(session, request)
            if user is None:
                return RedirectResponse("/", status_code=303)
            try:
                return render(request, session, user)
            except UseCaseError as exc:
                return portal.page(request, "message.html", status_code=404, title="Kein Fragebogen",
                                   text=str(exc), back="/kommune")  # fmt: skip

    @r.post("")
    async def post(request: Request, background: BackgroundTasks) -> Response:
        form = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
        csrf = form.get(CSRF_FIELD)
        check_csrf(request, csrf if isinstance(csrf, str) else None)
        action = form.get("aktion")
        raw: dict[str, RawAnswer] = {}
        for key in {k for k in form if k not in (CSRF_FIELD, "aktion")}:
            items = [v for v in form.getlist(key) if isinstance(v, str)]
            raw[key] = items[0] if len(items) == 1 else items
        with portal.db() as session:
            user = kommune_user(session, request)
            if user is None:
                return RedirectResponse("/", status_code=303)
            assert user.kommune_id is not None and user.year is not None
            ags, by = ags_of(session, user.kommune_id), user.contact_name or f"Kontakt {user.contact_id}"
            try:
                if action == "einreichen":
                    result = submit(session, portal.settings, year=user.year, ags=ags, raw_answers=raw, by=by,
                                    now=portal.now(), today=portal.today())  # fmt: skip
                else:
                    result = save_draft(session, portal.settings, year=user.year, ags=ags, raw_answers=raw, by=by,
                                        now=portal.now())  # fmt: skip
            except UseCaseError as exc:
                session.rollback()
                return render(request, session, user, status_code=409, error=str(exc))
            if not result.saved:
                session.rollback()
                return render(request, session, user, status_code=422, result=result, raw=raw)
        if action == "einreichen":
            background.add_task(send_soon, portal)  # the confirmation goes out right after the response
            return RedirectResponse("/kommune?ok=fragebogen", status_code=303)
        return RedirectResponse("/kommune/fragebogen?ok=entwurf", status_code=303)

    return r
