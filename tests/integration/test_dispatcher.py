"""The dispatcher against a real aiosmtpd server and a real database: nothing lost, nothing sent twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import DomainEvent, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.dispatcher.outcomes import Result, RetryPolicy
from kim_workflow.email.dispatcher.store import Recovery, claim_due, mark_sending, recover_stale
from kim_workflow.email.dispatcher.transport import classify
from kim_workflow.email.keys import outbox_key
from kim_workflow.email.outbox import NewEmail, dismiss, enqueue, resend
from kim_workflow.settings import Settings, SmtpTls
from tests.support.smtp import SmtpServer

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def queue(engine: Engine, count: int, *, cc: tuple[str, ...] = ()) -> None:
    emails = [
        NewEmail(
            idempotency_key=outbox_key("deliverable_reminder", f"kommune:{i:08d}", f"im{i}@kommune.de", "stage:r14"),
            kind="deliverable_reminder",
            subject_ref=f"kommune:{i:08d}",
            recipient=f"im{i}@kommune.de",
            cc=cc,
            subject=f"Erinnerung: Jahresbericht 2026 – Kommune {i}",
            text="Guten Tag,\nbitte denken Sie an den Jahresbericht.",
            html="<p>Guten Tag,</p><p>bitte denken Sie an den Jahresbericht.</p>",
        )
        for i in range(count)
    ]
    with session_scope(engine) as session:
        enqueue(session, emails, now=NOW, sender_domain="mffki.rlp.de")


def rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def statuses(engine: Engine) -> Counter[OutboxStatus]:
    return Counter(r.status for r in rows(engine))


def events(engine: Engine, action: str) -> list[DomainEvent]:
    with session_scope(engine) as session:
        return list(session.exec(select(DomainEvent).where(DomainEvent.action == action)))


def assert_each_sent_once(engine: Engine, server: SmtpServer) -> None:
    received = server.handler.received_ids()
    assert statuses(engine) == Counter({OutboxStatus.SENT: len(rows(engine))})
    assert set(received) == {r.message_id for r in rows(engine)}
    assert max(received.values()) == 1


def test_dispatch_sends_every_message_once(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 60, cc=("leitung@kreis.de",))
    report = dispatch_sync(engine, settings, now=NOW)
    assert (report.claimed, report.sent, report.retried, report.failed, report.unknown) == (60, 60, 0, 0, 0)
    assert_each_sent_once(engine, smtp_server)
    first = rows(engine)[0]
    assert first.attempts == 1 and first.sent_at is not None and first.sent_at >= NOW and first.last_error is None
    (mail,) = [m for m in smtp_server.handler.received if m.message_id == first.message_id]
    assert mail.rcpt_tos == [first.recipient, "leitung@kreis.de"]
    assert mail.mail_from == "kim@mffki.rlp.de"
    assert mail.message["To"] == first.recipient and mail.message["Cc"] == "leitung@kreis.de"
    assert mail.message["Reply-To"] == settings.mail_reply_to
    assert mail.message["Subject"] == first.subject
    again = dispatch_sync(engine, settings, now=LATER)
    assert again.claimed == 0 and len(smtp_server.handler.received) == 60


def test_dispatch_statements_grow_with_batches_not_emails(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 450)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    report = dispatch_sync(engine, settings, now=NOW)
    assert report.sent == 450
    assert len(statements) < 120, len(statements)  # 3 claim batches + grouped outcome writes, not 450+


def test_no_statement_of_a_dispatch_runs_on_the_event_loop(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    """Claims, ``sending`` marks and outcome writes all run off the loop thread, which only talks SMTP."""
    queue(engine, 200)
    loop_thread, on_loop, statements = threading.current_thread(), [], []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)
        if threading.current_thread() is loop_thread:  # dispatch_sync runs its event loop on this thread
            on_loop.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    report = dispatch_sync(engine, settings, now=NOW)
    sa.event.remove(engine, "before_cursor_execute", record)
    assert report.sent == 200 and len(statements) > 10
    assert on_loop == []
    assert_each_sent_once(engine, smtp_server)


def test_smtp_down_for_a_whole_dispatch_then_back(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 40)
    smtp_server.stop()
    report = dispatch_sync(engine, settings, now=NOW)
    assert report.claimed == 0 and report.sent == 0 and "SMTP-Verbindung fehlgeschlagen" in report.errors[0]
    assert all(r.status is OutboxStatus.PENDING and r.attempts == 0 for r in rows(engine))
    smtp_server.start()
    report = dispatch_sync(engine, settings, now=LATER)
    assert report.sent == 40
    assert_each_sent_once(engine, smtp_server)


def test_server_dies_mid_dispatch(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    """In-flight messages become unknown, the rest go back to pending; after resend: 0 lost, 0 twice."""
    queue(engine, 120)
    smtp_server.handler.behaviour.data_delay_seconds = 0.02

    def stop_when_some_arrived() -> None:
        while len(smtp_server.handler.received) < 20:
            time.sleep(0.005)
        smtp_server.stop()

    stopper = threading.Thread(target=stop_when_some_arrived)
    stopper.start()
    report = dispatch_sync(engine, settings.model_copy(update={"dispatch_concurrency": 3}), now=NOW)
    stopper.join()
    assert report.errors and 20 <= report.sent < 120
    assert report.sent + report.retried + report.released + report.unknown == report.claimed
    counts = statuses(engine)
    assert counts[OutboxStatus.SENT] == report.sent and counts[OutboxStatus.UNKNOWN] == report.unknown
    assert counts[OutboxStatus.SENT] + counts[OutboxStatus.PENDING] + counts[OutboxStatus.UNKNOWN] == 120
    assert all(r.attempts <= 1 for r in rows(engine))

    smtp_server.handler.behaviour.data_delay_seconds = 0
    smtp_server.start()
    dispatch_sync(engine, settings, now=LATER)
    unknown = [r.id for r in rows(engine) if r.status is OutboxStatus.UNKNOWN]
    assert len(unknown) == report.unknown  # never re-sent on their own
    received = smtp_server.handler.received_ids()
    confirmed = [r.id for r in rows(engine) if r.id in unknown and r.message_id in received]
    with session_scope(engine) as session:
        if confirmed:
            dismiss(session, confirmed, now=LATER, actor="ops")
        if set(unknown) - set(confirmed):
            resend(session, sorted(set(unknown) - set(confirmed)), now=LATER, actor="ops")
    dispatch_sync(engine, settings, now=LATER + timedelta(hours=1))
    received = smtp_server.handler.received_ids()
    assert {r.message_id for r in rows(engine)} == set(received) and max(received.values()) == 1
    assert {r.status for r in rows(engine)} <= {OutboxStatus.SENT, OutboxStatus.DISMISSED}


def test_temporary_failures_are_retried_until_all_delivered_once(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 100)
    smtp_server.handler.behaviour.temp_fail_ratio = 0.3
    first = dispatch_sync(engine, settings, now=NOW)
    assert 10 < first.retried < 60 and first.sent + first.retried == 100
    greylisted = [r for r in rows(engine) if r.status is OutboxStatus.PENDING]
    assert all(r.next_attempt_at >= NOW + timedelta(seconds=1) and "451" in (r.last_error or "") for r in greylisted)
    assert dispatch_sync(engine, settings, now=NOW).claimed == 0  # backoff respected
    second = dispatch_sync(engine, settings, now=LATER)
    assert second.sent == first.retried
    assert_each_sent_once(engine, smtp_server)
    assert Counter(r.attempts for r in rows(engine)) == Counter({1: first.sent, 2: first.retried})


def test_temporary_failure_gives_up_after_max_attempts(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 3)
    smtp_server.handler.behaviour.temp_fail_all = True
    settings = settings.model_copy(update={"dispatch_max_attempts": 2})
    assert dispatch_sync(engine, settings, now=NOW).retried == 3
    report = dispatch_sync(engine, settings, now=LATER)
    assert report.failed == 3 and statuses(engine) == Counter({OutboxStatus.FAILED: 3})
    assert all("Aufgegeben nach 2 Versuchen" in (r.last_error or "") for r in rows(engine))
    assert [e.payload["code"] for e in events(engine, "kim.email.failed")] == [451, 451, 451]


def test_permanent_rejection_fails_at_once_with_event(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 20)
    smtp_server.handler.behaviour.reject_rcpt_550 = {"im7@kommune.de"}
    report = dispatch_sync(engine, settings, now=NOW)
    assert (report.sent, report.failed) == (19, 1)
    (failed,) = [r for r in rows(engine) if r.status is OutboxStatus.FAILED]
    assert failed.recipient == "im7@kommune.de" and failed.attempts == 1 and "550" in (failed.last_error or "")
    (event,) = events(engine, "kim.email.failed")
    assert event.subject_type == "outbox" and event.subject_id == str(failed.id)
    assert event.payload["code"] == 550 and event.payload["kind"] == "deliverable_reminder"
    assert event.payload["subject_ref"] == failed.subject_ref and "contact_id" in event.payload
    assert "@" not in str(event.payload)
    assert dispatch_sync(engine, settings, now=LATER).claimed == 0


def test_refused_cc_still_counts_as_sent(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 2, cc=("weg@kreis.de",))
    smtp_server.handler.behaviour.reject_rcpt_550 = {"weg@kreis.de"}
    report = dispatch_sync(engine, settings, now=NOW)
    assert report.sent == 2
    assert all("weg@kreis.de (550" in (r.last_error or "") for r in rows(engine))
    assert_each_sent_once(engine, smtp_server)


def test_no_reply_after_data_is_unknown_and_not_resent(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 2)
    smtp_server.handler.behaviour.data_delay_seconds = 1.5
    report = dispatch_sync(engine, settings.model_copy(update={"smtp_timeout_seconds": 0.3}), now=NOW)
    assert report.unknown == 2 and statuses(engine) == Counter({OutboxStatus.UNKNOWN: 2})
    assert all("unbekannt" in (r.last_error or "") for r in rows(engine))
    smtp_server.handler.behaviour.data_delay_seconds = 0
    assert dispatch_sync(engine, settings, now=LATER).claimed == 0
    assert sorted(smtp_server.handler.attempts.values()) == [1, 1]  # each payload went out once, never again


def test_resend_and_dismiss_unknown_messages(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 2)
    claimed = claim_due(engine, now=NOW, limit=10, worker_id="crashed-worker")
    assert mark_sending(engine, [m.id for m in claimed], worker_id="crashed-worker") == {m.id for m in claimed}
    assert recover_stale(engine, now=NOW + timedelta(minutes=5)) == Recovery(unknown=0, released=0)
    report = dispatch_sync(engine, settings, now=NOW + timedelta(minutes=20))
    assert (report.recovered_stale, report.released_stale, report.claimed) == (2, 0, 0)
    first, second = rows(engine)
    assert first.status is OutboxStatus.UNKNOWN and "unterbrochen" in (first.last_error or "")
    with session_scope(engine) as session:
        resend(session, [first.id or 0], now=LATER, actor="ops")
        dismiss(session, [second.id or 0], now=LATER, actor="ops")
    report = dispatch_sync(engine, settings, now=LATER)
    assert report.sent == 1
    assert list(smtp_server.handler.received_ids()) == [first.message_id]  # same Message-ID as before
    assert [r.status for r in rows(engine)] == [OutboxStatus.SENT, OutboxStatus.DISMISSED]


def test_claimed_rows_a_dead_dispatcher_never_sent_are_queued_again_not_unknown(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 5)
    claimed = claim_due(engine, now=NOW, limit=10, worker_id="crashed-worker")
    mark_sending(engine, [claimed[0].id], worker_id="crashed-worker")  # only the first one reached the wire
    assert mark_sending(engine, [claimed[1].id], worker_id="someone-else") == set()  # not theirs to mark
    report = dispatch_sync(engine, settings, now=NOW + timedelta(minutes=20))
    assert (report.recovered_stale, report.released_stale, report.sent) == (1, 4, 4)
    first, *others = rows(engine)
    assert first.status is OutboxStatus.UNKNOWN
    assert {(r.status, r.attempts) for r in others} == {(OutboxStatus.SENT, 1)}  # the crashed claim did not count
    assert sorted(smtp_server.handler.received_ids().values()) == [1, 1, 1, 1]
    assert report.summary().endswith("4 liegengebliebene, nie versendete Nachricht(en) wieder eingereiht")


def test_two_dispatchers_at_once_deliver_each_message_once(
    engine: Engine, database_url: str, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 400)
    reports: list[Any] = []
    start = threading.Barrier(2)

    def run(worker: str) -> None:
        own_engine = make_engine(database_url)
        start.wait()
        reports.append(dispatch_sync(own_engine, settings, now=NOW, worker_id=worker))
        own_engine.dispose()

    threads = [threading.Thread(target=run, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 400 and sum(r.claimed for r in reports) == 400
    assert_each_sent_once(engine, smtp_server)
    assert {r.claimed_by for r in rows(engine)} <= {"worker-0", "worker-1"}


def test_required_starttls_never_falls_back_to_plaintext(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 3)
    report = dispatch_sync(engine, settings.model_copy(update={"smtp_tls": SmtpTls.STARTTLS}), now=NOW)
    assert report.sent == 0 and report.claimed == 0 and "STARTTLS" in report.errors[0]
    assert smtp_server.handler.received == [] and not smtp_server.handler.attempts
    assert all(r.status is OutboxStatus.PENDING and r.attempts == 0 for r in rows(engine))


def test_kill_switch_sends_nothing(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 3)
    report = dispatch_sync(engine, settings.model_copy(update={"send_enabled": False}), now=NOW)
    assert report.disabled and report.claimed == 0 and "abgeschaltet" in report.summary()
    assert smtp_server.handler.received == [] and statuses(engine) == Counter({OutboxStatus.PENDING: 3})


def test_rate_limit_and_limit(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> None:
    queue(engine, 12)
    started = time.monotonic()
    report = dispatch_sync(engine, settings.model_copy(update={"dispatch_rate_per_second": 20}), now=NOW, limit=10)
    assert report.sent == 10 and time.monotonic() - started >= 0.4
    assert statuses(engine) == Counter({OutboxStatus.SENT: 10, OutboxStatus.PENDING: 2})


@pytest.mark.parametrize(
    ("exc", "payload_sent", "expected"),
    [
        (aiosmtplib.SMTPDataError(451, "Greylisted"), True, (Result.RETRY, 451)),
        (aiosmtplib.SMTPSenderRefused(452, "Too many", "kim@x.de"), False, (Result.RETRY, 452)),
        (aiosmtplib.SMTPDataError(554, "Rejected"), True, (Result.FAILED, 554)),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a@x")]),
            False,
            (Result.FAILED, 550),
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "no", "a@x"), aiosmtplib.SMTPRecipientRefused(450, "busy", "b@x")]
            ),
            False,
            (Result.RETRY, 450),
        ),
        (aiosmtplib.SMTPServerDisconnected("gone"), False, (Result.RETRY, None)),
        (ConnectionRefusedError(), False, (Result.RETRY, None)),
        (aiosmtplib.SMTPServerDisconnected("gone"), True, (Result.UNKNOWN, None)),
        (aiosmtplib.SMTPReadTimeoutError("slow"), True, (Result.UNKNOWN, None)),
        (aiosmtplib.SMTPNotSupported("SMTPUTF8"), False, (Result.FAILED, None)),
    ],
)
def test_classify(exc: BaseException, payload_sent: bool, expected: tuple[Result, int | None]) -> None:
    result, code, text = classify(exc, payload_sent=payload_sent)
    assert (result, code) == expected and text


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=8, base_seconds=60, cap_seconds=600)
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [60, 120, 240, 480, 600]
    assert policy.delay(10_000).total_seconds() == 600


def test_a_message_that_cannot_be_built_fails_alone(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 60)
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:  # bypassing enqueue's validation, as a damaged row would
        connection.execute(sa.update(table).where(table.c.id == 5).values(subject="Kaputt\r\nBcc: x@y.de"))
    report = dispatch_sync(engine, settings, now=NOW)
    assert (report.sent, report.failed) == (59, 1)
    failed = rows(engine)[4]
    assert failed.status is OutboxStatus.FAILED and "konnte nicht erstellt werden" in (failed.last_error or "")
    assert failed.message_id not in smtp_server.handler.received_ids()


def test_smtputf8_is_asked_for_exactly_the_messages_to_a_non_ascii_recipient(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    queue(engine, 3)
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id == 2).values(recipient="müller@kommune.de"))
    options: dict[str, list[str]] = {}
    handle_data = smtp_server.handler.handle_DATA

    async def recording(server: Any, session: Any, envelope: Any) -> str:
        options[envelope.rcpt_tos[0]] = list(envelope.mail_options)
        return await handle_data(server, session, envelope)

    smtp_server.handler.handle_DATA = recording  # type: ignore[method-assign]
    assert dispatch_sync(engine, settings, now=NOW).sent == 3
    assert {to: "SMTPUTF8" in opts for to, opts in options.items()} == {
        "im0@kommune.de": False,
        "müller@kommune.de": True,
        "im2@kommune.de": False,
    }
