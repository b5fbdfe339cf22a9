"""The portal's app factory: settings, engine and clock in, a FastAPI application out (nothing at import time)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from kim_workflow.portal.context import CSRF_COOKIE, CsrfRefused, Portal
from kim_workflow.portal.routes import kommune, ministry, public, questionnaire
from kim_workflow.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("kim_workflow.portal")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
NO_STORE = {"Cache-Control": "no-store"}

STATUS_TEXT = {
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht. Bitte prüfen Sie die Adresse."),
    405: ("Nicht möglich", "Diese Aktion ist hier nicht möglich."),
    413: ("Datei zu groß", "Die Anfrage ist zu groß."),
    422: ("Ungültige Eingabe", "Die Eingabe konnte nicht verarbeitet werden."),
}


def create_app(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> FastAPI:
    portal = Portal.build(settings, engine, clock)
    app = FastAPI(title="KIM-Portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (public, kommune, questionnaire, ministry):
        app.include_router(module.router(portal))

    @app.middleware("http")
    async def headers_and_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers.update(NO_STORE)
        new_csrf = getattr(request.state, "new_csrf", None)
        if new_csrf:
            response.set_cookie(CSRF_COOKIE, new_csrf, httponly=True, secure=settings.portal_cookie_secure,
                                samesite="strict", path="/")  # fmt: skip
        route = request.scope.get("route")
        path = getattr(route, "path", "?")  # the route's pattern: never a token, an address or a file name
        log.info("%s %s %s %.0f ms", request.method, path, response.status_code, 1000 * (time.perf_counter() - started))
        return response

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return portal.page(
            request, "message.html", status_code=403, title="Sicherheitsprüfung fehlgeschlagen",
            text="Das Formular war abgelaufen oder unvollständig. Bitte laden Sie die Seite neu und versuchen Sie "
            "es noch einmal.", back="/",
        )  # fmt: skip

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        title, text = STATUS_TEXT.get(exc.status_code, ("Fehler", "Die Anfrage konnte nicht bearbeitet werden."))
        return portal.page(request, "message.html", status_code=exc.status_code, title=title, text=text, back="/")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        title, text = STATUS_TEXT[422]
        return portal.page(request, "message.html", status_code=422, title=title, text=text, back="/")

    return app
