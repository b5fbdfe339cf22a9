"""Start page, opening a personal link, "Neuen Link anfordern", signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kim_workflow.portal.context import SESSION_COOKIE, Portal, check_csrf, client_of
from kim_workflow.services.portal_links import open_link
from kim_workflow.services.portal_requests import request_link
from kim_workflow.services.portal_sessions import (
    attempt_bucket,
    attempts_allowed,
    end_session,
    record_failed_attempt,
    signed_in,
    start_session,
)

TOKEN_MAX = 100
ADDRESS_MAX = 320


def too_many(portal: Portal, request: Request) -> Response:
    minutes = max(1, portal.settings.portal_rate_limit_window_seconds // 60)
    return portal.page(
        request, "message.html", status_code=429, title="Zu viele Versuche",
        text=f"Aus Sicherheitsgründen ist dies gerade nicht möglich. Bitte versuchen Sie es in {minutes} Minuten "
        "noch einmal.", back="/",
    )  # fmt: skip


def router(portal: Portal) -> APIRouter:
    r = APIRouter()

    @r.get("/")
    def start(request: Request) -> Response:
        with portal.read() as session:
            user = portal.user(session, request)
        if user is not None:
            return RedirectResponse("/ministerium" if user.is_ministry else "/kommune", status_code=303)
        return portal.page(request, "start.html")

    @r.get("/zugang/{token}")
    def open_personal_link(request: Request, token: str) -> Response:
        bucket = attempt_bucket("link", client_of(request))
        limit, now = portal.rate_limit, portal.now()
        with portal.db() as session:
            if not attempts_allowed(session, bucket, limit, now=now):
                return too_many(portal, request)
            access = open_link(session, token, now=now) if len(token) <= TOKEN_MAX else None
            if access is None:
                record_failed_attempt(session, bucket, limit, now=now)
            else:
                cookie = start_session(session, now=now, minutes=portal.settings.portal_session_minutes, access=access)
        if access is None:
            return portal.page(request, "link_invalid.html", status_code=403, title="Link ungültig oder abgelaufen")
        response = RedirectResponse("/kommune", status_code=303)  # the address bar no longer shows the token
        portal.set_session_cookie(response, cookie)
        return response

    @r.get("/link-anfordern")
    def link_form(request: Request) -> Response:
        return portal.page(request, "link_request.html", error=None, address="")

    @r.post("/link-anfordern")
    def link_request(
        request: Request,
        email: Annotated[str, Form(max_length=ADDRESS_MAX)] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        check_csrf(request, csrf_token)
        if not email.strip():
            return portal.page(request, "link_request.html", status_code=400, address="",
                               error="Bitte geben Sie Ihre E-Mail-Adresse ein.")  # fmt: skip
        bucket = attempt_bucket("request", client_of(request))
        limit, now = portal.rate_limit, portal.now()
        with portal.db() as session:
            if not attempts_allowed(session, bucket, limit, now=now):
                return too_many(portal, request)
            record_failed_attempt(session, bucket, limit, now=now)  # every request counts: the answer is the same
            request_link(session, portal.settings, address=email, now=now)
        return portal.page(request, "link_requested.html")

    @r.post("/abmelden")
    def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf_token)
        with portal.db() as session:
            user = signed_in(session, request.cookies.get(SESSION_COOKIE), now=portal.now())
            if user is not None:
                end_session(session, user.session_id, now=portal.now())
        response = RedirectResponse("/", status_code=303)
        portal.clear_session_cookie(response)
        return response

    return r
