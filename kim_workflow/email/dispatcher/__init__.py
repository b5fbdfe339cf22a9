"""Sending the outbox over SMTP: claim due rows, send them over pooled connections, record outcomes honestly.

A claimed row is ``claimed`` until, a few rows at a time and just before they go on the wire, it becomes
``sending``; after a crash, ``claimed`` rows go back to the queue and only ``sending`` ones (on the wire, or sent
and not yet recorded) become ``unknown``. Every claim counts one attempt. The states and the events between them
are one table: :mod:`kim_workflow.core.outbox_states`.

A 4xx reply or a connection error before the message payload left us → pending again with exponential backoff
(failed once ``dispatch_max_attempts`` is reached). A 5xx reply → failed at once.
No reply after the DATA command (timeout, disconnect) → ``unknown``: the server may have accepted the message, so
it is never re-sent automatically; the operator decides (``outbox.resend`` / ``outbox.dismiss``).

This module holds the entry points; the parts are :mod:`.store` (the rows), :mod:`.transport` (SMTP),
:mod:`.pipeline` (one dispatch), :mod:`.outcomes` (plain data) and :mod:`.db_retry`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kim_workflow.email.dispatcher.db_retry import db_error_text, with_db_retry
from kim_workflow.email.dispatcher.outcomes import DispatchReport
from kim_workflow.email.dispatcher.pipeline import Run
from kim_workflow.email.dispatcher.store import recover_stale
from kim_workflow.email.smtp_auth import plaintext_auth_problem
from kim_workflow.settings import Settings

__all__ = ["default_worker_id", "dispatch", "dispatch_sync"]

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]


async def dispatch(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    worker_id: str | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """Send what is due at ``now`` (at most ``limit`` messages); SMTP trouble is reported, not raised."""
    report = DispatchReport(worker_id=worker_id or default_worker_id())
    if not settings.send_enabled:
        report.disabled = True
        log.warning(report.summary())
        return report
    if not settings.smtp_host:
        report.errors.append(
            "Kein SMTP-Server konfiguriert (KIM_SMTP_HOST): hier nichts versendet; die E-Mails warten im Postausgang "
            "(ein laufendes `kim up` versendet sie in sein Maildir)"
        )
        return report
    problem = plaintext_auth_problem(settings)
    if problem is not None:  # checked before anything is claimed: every row stays pending
        log.error(problem)
        report.errors.append(problem)
        return report
    stale = timedelta(seconds=settings.outbox_stale_after_seconds)
    recover = partial(recover_stale, engine, now=now, older_than=stale)
    try:
        recovery = await asyncio.to_thread(with_db_retry, recover, budget_seconds=settings.dispatch_db_retry_seconds,
                                           what="recover_stale")  # fmt: skip
    except sa.exc.DBAPIError as exc:
        report.errors.append(f"Datenbank nicht erreichbar ({db_error_text(exc)}); nichts versendet")
        log.error(report.errors[-1])
        return report
    report.recovered_stale, report.released_stale = recovery.unknown, recovery.released
    await Run(engine, settings, report, now=now, limit=limit).execute()
    log.info("Versand (%s): %s", report.worker_id, report.summary())
    return report


def dispatch_sync(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    worker_id: str | None = None,
    limit: int | None = None,
) -> DispatchReport:
    """:func:`dispatch` for synchronous callers (CLI, Prefect tasks); not from inside a running event loop."""
    return asyncio.run(dispatch(engine, settings, now=now, worker_id=worker_id, limit=limit))
