"""Riding out a database blip: a lost or busy connection is retried with backoff, any other error is raised."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from time import monotonic
from typing import TypeVar

import sqlalchemy as sa

log = logging.getLogger(__name__)

DB_RETRY_FIRST_SECONDS, DB_RETRY_CAP_SECONDS = 0.05, 2.0
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")
_R = TypeVar("_R")


def is_transient_db_error(exc: BaseException) -> bool:
    """A lost or busy connection (worth retrying), not a wrong statement."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


def with_db_retry(function: Callable[[], _R], *, budget_seconds: float, what: str) -> _R:
    """``function()``, called again with exponential backoff while the database connection is lost or busy, for at
    most ``budget_seconds``; then (or for any other error) the error is raised. ``function`` must be one
    transaction that is safe to repeat (the outbox statements are: each checks the row's status and owner)."""
    delay, deadline = DB_RETRY_FIRST_SECONDS, monotonic() + budget_seconds
    while True:
        try:
            return function()
        except sa.exc.DBAPIError as exc:
            if not is_transient_db_error(exc) or monotonic() + delay > deadline:
                raise
            log.warning("Datenbankverbindung unterbrochen (%s: %s); neuer Versuch in %.2f s", what, exc.orig, delay)
        time.sleep(delay)
        delay = min(delay * 2, DB_RETRY_CAP_SECONDS)


def db_error_text(exc: sa.exc.DBAPIError) -> str:
    """The driver's error, first line only (no SQL, no parameters)."""
    lines = str(exc.orig).strip().splitlines()
    return f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"
