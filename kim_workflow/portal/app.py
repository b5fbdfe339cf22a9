"""The portal's app factory: settings, engine and clock in, a FastAPI application out (nothing at import time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from kim_workflow.portal.context import CsrfRefused, Portal
from kim_workflow.portal.middleware import SecurityHeaders
from kim_workflow.portal.routes import kommune, ministry, public, questionnaire
from kim_workflow.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"

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
    app.add_middleware(SecurityHeaders)
    for module in (public, kommune, questionnaire, ministry):
        app.include_router(module.router(portal))

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
