"""What every request handler needs: settings, engine, clock, templates, and the request helpers built on them."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kim_workflow.core.portal_access import RateLimit
from kim_workflow.db.engine import is_sqlite, make_reader_engine, session_scope
from kim_workflow.portal.filters import filters_for
from kim_workflow.services.portal_sessions import SignedIn, signed_in
from kim_workflow.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "kim_session"
CSRF_COOKIE = "kim_csrf"
CSRF_FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A form without the right CSRF token: 403, nothing changed."""


@dataclass(frozen=True)
class Portal:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]
    templates: Environment
    reader: Engine
    """For pages that only read (SQLite: no write lock, so requests do not queue behind each other)."""

    @classmethod
    def build(cls, settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> Portal:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), undefined=StrictUndefined
        )
        env.filters.update(filters_for(settings.tz))
        env.globals["contact_address"] = settings.mail_reply_to
        reader = engine if not is_sqlite(engine) else make_reader_engine(engine.url.render_as_string(False))
        return cls(settings, engine, clock, env, reader)

    @property
    def rate_limit(self) -> RateLimit:
        return RateLimit(self.settings.portal_rate_limit_attempts, self.settings.portal_rate_limit_window_seconds)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    @contextmanager
    def db(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction, never committed (closing the session ends it; loaded rows stay readable)."""
        with Session(self.reader, expire_on_commit=False) as session:
            yield session

    def user(self, session: Session, request: Request) -> SignedIn | None:
        return signed_in(session, request.cookies.get(SESSION_COOKIE), now=self.now())

    def page(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(csrf_token=csrf_token(request), **context)
        response = HTMLResponse(html, status_code=status_code)
        fresh = getattr(request.state, "new_csrf", None)
        if fresh:  # the browser had no CSRF cookie yet: the token in this page's forms becomes it
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, secure=self.settings.portal_cookie_secure,
                                samesite="strict", path="/")  # fmt: skip
        return response

    def set_session_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, value, max_age=self.settings.portal_session_minutes * 60, httponly=True,
            secure=self.settings.portal_cookie_secure, samesite="lax", path="/",
        )  # fmt: skip

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, httponly=True, secure=self.settings.portal_cookie_secure, samesite="lax", path="/"
        )


def client_of(request: Request) -> str:
    """The client's address (behind the reverse proxy: what it forwarded, see uvicorn's proxy headers)."""
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (double-submit cookie); a new one is set on the response by the middleware."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return fresh


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise CsrfRefused()


def send_soon(portal: Portal) -> None:
    """Send what entered the outbox now (after the response; ``kim up``'s fast lane would too, and claims keep
    concurrent senders apart). A failure stays in the outbox for the next dispatch."""
    from kim_workflow.services.delivery_problems import dispatch_and_report

    try:
        dispatch_and_report(portal.engine, portal.settings, now=portal.now())
    except Exception as exc:  # the backstop deployment sends it later
        logging.getLogger("kim_workflow.portal").warning("Versand später: %s", type(exc).__name__)
