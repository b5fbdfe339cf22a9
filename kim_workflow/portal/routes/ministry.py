"""The ministry's side: sign-in, the submissions of a year, a Kommune's page (read-only), downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from kim_workflow.core.questionnaire import AnswerStatus
from kim_workflow.core.registry import display_name
from kim_workflow.db.models import Cycle
from kim_workflow.portal.context import Portal, check_csrf, client_of
from kim_workflow.portal.questionnaire_form import build_form
from kim_workflow.portal.routes.kommune import attachment
from kim_workflow.portal.routes.public import too_many
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.portal_accounts import PASSWORD_MAX, USERNAME_MAX, verify_login
from kim_workflow.services.portal_pages import kommune_year, year_submissions
from kim_workflow.services.portal_sessions import (
    SignedIn,
    attempt_bucket,
    attempts_allowed,
    record_failed_attempt,
    start_session,
)
from kim_workflow.services.portal_uploads import download
from kim_workflow.services.questionnaire_answers import answer_context, load_answers


def router(portal: Portal) -> APIRouter:
    r = APIRouter(prefix="/ministerium")

    def ministry_user(request: Request) -> SignedIn | None:
        with portal.read() as session:
            user = portal.user(session, request)
        return user if user is not None and user.is_ministry else None

    def to_login() -> Response:
        return RedirectResponse("/ministerium/anmelden", status_code=303)

    @r.get("/anmelden")
    def login_form(request: Request) -> Response:
        return portal.page(request, "login.html", error=None, username="")

    @r.post("/anmelden")
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=USERNAME_MAX)] = "",
        password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf_token)
        bucket = attempt_bucket("login", client_of(request))
        limit, now = portal.rate_limit, portal.now()
        with portal.db() as session:
            if not attempts_allowed(session, bucket, limit, now=now):
                return too_many(portal, request)
            account = verify_login(session, username=username, password=password, now=now)
            if account is None:
                record_failed_attempt(session, bucket, limit, now=now)
            else:
                cookie = start_session(
                    session, now=now, minutes=portal.settings.portal_session_minutes, account_id=account.id
                )
        if account is None:
            return portal.page(request, "login.html", status_code=401, username=username,
                               error="Benutzername oder Passwort ist falsch.")  # fmt: skip
        response = RedirectResponse("/ministerium", status_code=303)
        portal.set_session_cookie(response, cookie)
        return response

    @r.get("")
    def years(request: Request) -> Response:
        user = ministry_user(request)
        if user is None:
            return to_login()
        with portal.read() as session:
            known = list(session.exec(select(Cycle.year).order_by(col(Cycle.year).desc())))
        if known:
            return RedirectResponse(f"/ministerium/jahr/{known[0]}", status_code=303)
        return portal.page(request, "message.html", title="Noch kein Förderjahr", back=None,
                           text="Es ist noch kein Förderjahr eröffnet (kim cycle open).")  # fmt: skip

    @r.get("/jahr/{year}")
    def year_list(request: Request, year: int) -> Response:
        user = ministry_user(request)
        if user is None:
            return to_login()
        with portal.read() as session:
            known = list(session.exec(select(Cycle.year).order_by(col(Cycle.year).desc())))
            rows = year_submissions(session, year=year, today=portal.today()) if year in known else []
        if year not in known:
            return portal.page(request, "message.html", status_code=404, title="Förderjahr nicht gefunden",
                               text=f"Für {year} ist kein Förderjahr eröffnet.", back="/ministerium")  # fmt: skip
        return portal.page(request, "ministry_year.html", year=year, years=known, rows=rows, user=user)

    @r.get("/jahr/{year}/kommune/{ags}")
    def kommune_page(request: Request, year: int, ags: str) -> Response:
        user = ministry_user(request)
        if user is None:
            return to_login()
        try:
            with portal.read() as session:
                view = kommune_year(session, ags=ags, year=year, today=portal.today())
        except UseCaseError:
            return portal.page(request, "message.html", status_code=404, title="Kommune nicht gefunden",
                               text="Diese Kommune gibt es nicht.", back="/ministerium")  # fmt: skip
        return portal.page(request, "kommune.html", view=view, error=None, notice=None, ministry=True,
                           limit_text="")  # fmt: skip

    @r.get("/jahr/{year}/kommune/{ags}/fragebogen")
    def answers(request: Request, year: int, ags: str) -> Response:
        user = ministry_user(request)
        if user is None:
            return to_login()
        try:
            with portal.read() as session:
                ctx = answer_context(session, portal.settings, year=year, ags=ags)
                stored = load_answers(session, portal.settings, year=year, ags=ags)
        except UseCaseError as exc:
            return portal.page(request, "message.html", status_code=404, title="Kein Fragebogen", text=str(exc),
                               back="/ministerium")  # fmt: skip
        values = stored.values if stored else {}
        return portal.page(
            request, "fragebogen.html", questionnaire=ctx.questionnaire, year=year,
            kommune_name=display_name(ctx.kommune.name, ctx.kommune.kind),
            stored=stored, submitted=stored is not None and stored.status is AnswerStatus.SUBMITTED, error=None,
            sections=build_form(ctx.questionnaire, ctx.kommune.kind, values), summary=[], notice=None, ministry=True,
        )  # fmt: skip

    @r.get("/dateien/{upload_id}")
    def file(request: Request, upload_id: int) -> Response:
        user = ministry_user(request)
        if user is None:
            return to_login()
        try:
            with portal.db() as session:
                found = download(session, upload_root=portal.settings.upload_dir, upload_id=upload_id,
                                 actor=f"portal:account:{user.account_id}", now=portal.now())  # fmt: skip
        except UseCaseError as exc:
            return portal.page(request, "message.html", status_code=404, title="Datei nicht gefunden",
                               text=str(exc), back="/ministerium")  # fmt: skip
        return attachment(found.path, found.name, found.content_type)

    return r
