"""The outbox: keyed, validated, idempotent enqueueing (also across processes) and the operator actions."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import DomainEvent, OutboxMessage
from kim_workflow.email.keys import outbox_key
from kim_workflow.email.mime import Attachment
from kim_workflow.email.outbox import (
    NewEmail,
    OutboxActionError,
    counts_by_status,
    dismiss,
    enqueue,
    list_messages,
    resend,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DOMAIN = "mffki.rlp.de"


def email(i: int, **overrides: object) -> NewEmail:
    recipient = str(overrides.pop("recipient", f"im{i}@kommune{i % 7}.de"))
    values: dict[str, object] = {
        "idempotency_key": outbox_key("deliverable_reminder", f"kommune:{i:08d}", recipient, "year:2026|stage:r14"),
        "kind": "deliverable_reminder",
        "subject_ref": f"kommune:{i:08d}",
        "recipient": recipient,
        "subject": f"Erinnerung: Jahresbericht 2026 ({i})",
        "text": "Guten Tag,\nbitte denken Sie an den Jahresbericht.",
        "html": "<p>Guten Tag,</p><p>bitte denken Sie an den Jahresbericht.</p>",
    }
    values.update(overrides)
    return NewEmail(**values)  # type: ignore[arg-type]


def all_rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def test_outbox_key_is_readable_and_bounded() -> None:
    key = outbox_key(
        "deliverable_reminder", "kommune:07315000|year:2026", " IM@X.de ", "stage:reminder-14|due:2026-12-15"
    )
    assert key == "deliverable_reminder|kommune:07315000|year:2026|stage:reminder-14|due:2026-12-15|to:im@x.de"
    long_a = outbox_key("k", "ref", "a@x.de", "o" * 500 + "a")
    long_b = outbox_key("k", "ref", "a@x.de", "o" * 500 + "b")
    assert len(long_a) == len(long_b) == 400
    assert long_a != long_b and long_a.startswith("k|ref|ooo") and "|sha256:" in long_a
    with pytest.raises(InvalidValueError):
        outbox_key("a|b", "ref", "a@x.de", "o")


def test_enqueue_twice_keeps_one_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = enqueue(session, [email(1), email(2)], now=NOW, sender_domain=DOMAIN)
    with session_scope(engine) as session:
        second = enqueue(session, [email(1), email(2), email(3)], now=NOW + timedelta(hours=1), sender_domain=DOMAIN)
    assert (first.created, first.existing) == (2, 0)
    assert (second.created, second.existing) == (1, 2)
    rows = all_rows(engine)
    assert len(rows) == 3
    first_row = rows[0]
    assert first_row.status is OutboxStatus.PENDING and first_row.attempts == 0
    assert first_row.next_attempt_at == NOW and first_row.created_at == NOW
    assert first_row.message_id.startswith("<") and first_row.message_id.endswith(f"@{DOMAIN}>")
    assert len({r.message_id for r in rows}) == 3


def test_repeated_key_in_one_batch_counts_as_existing(engine: Engine) -> None:
    with session_scope(engine) as session:
        result = enqueue(session, [email(1), email(1), email(2)], now=NOW, sender_domain=DOMAIN)
    assert (result.created, result.existing) == (2, 1)
    assert len(all_rows(engine)) == 2


def test_enqueue_keeps_fields_and_attachments(engine: Engine) -> None:
    attachment = Attachment("termin.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    new = email(1, recipient="IM@Kommune.DE", cc=("Leitung@Kommune.de",), contact_id=None, attachments=(attachment,))
    with session_scope(engine) as session:
        enqueue(session, [new], now=NOW, sender_domain=DOMAIN)
    (row,) = all_rows(engine)
    assert row.recipient == "IM@kommune.de"  # domain normalised, local part kept
    assert row.cc == ["Leitung@kommune.de"]
    assert [Attachment.from_json(a) for a in row.attachments] == [attachment]
    assert (row.kind, row.subject_ref, row.subject) == (new.kind, new.subject_ref, new.subject)


def test_enqueue_is_part_of_the_callers_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue(session, [email(1)], now=NOW, sender_domain=DOMAIN)
        raise RuntimeError("state change failed")
    assert all_rows(engine) == []


def test_many_emails_use_few_statements(engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_scope(engine) as session:
        result = enqueue(session, [email(i) for i in range(1200)], now=NOW, sender_domain=DOMAIN)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert result.created == 1200
    assert len(inserts) == 1  # one executemany (SQLite) or one page of up to 5,000 rows (PostgreSQL)


def test_a_large_batch_keeps_every_field_and_is_idempotent(engine: Engine) -> None:
    """Above COPY_FROM_ROWS PostgreSQL takes the COPY path: JSON, enums, times and the unique key behave the same."""
    attachment = Attachment("termin.ics", "text/calendar; method=REQUEST", "BEGIN:VCALENDAR\r\nÄ\r\n".encode())
    batch = [email(i, cc=(f"vertretung{i}@kommune.de",), attachments=(attachment,)) for i in range(1500)]
    with session_scope(engine) as session:
        first = enqueue(session, batch[:1000], now=NOW, sender_domain=DOMAIN)
        again = enqueue(session, batch, now=NOW, sender_domain=DOMAIN)  # overlaps: only 500 are new
    assert (first.created, again.created, again.existing) == (1000, 500, 1000)
    rows = all_rows(engine)
    assert len(rows) == 1500 and len({r.message_id for r in rows}) == 1500
    sample = next(r for r in rows if r.subject_ref == "kommune:00001234")
    assert sample.cc == ["vertretung1234@kommune.de"] and sample.status is OutboxStatus.PENDING
    assert [Attachment.from_json(a) for a in sample.attachments] == [attachment]
    assert sample.created_at == NOW and sample.next_attempt_at == NOW and sample.attempts == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"subject": "Hallo\r\nBcc: opfer@example.org"},
        {"subject": "Hallo\nX-Injected: 1"},
        {"recipient": "im@kommune.de\r\nBcc: opfer@example.org"},
        {"recipient": "kein-at-zeichen"},
        {"cc": ("ok@kommune.de", "bad@@kommune.de")},
    ],
)
def test_invalid_email_rejects_the_whole_batch(engine: Engine, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError), session_scope(engine) as session:
        enqueue(session, [email(1), email(2, **bad), email(3)], now=NOW, sender_domain=DOMAIN)
    assert all_rows(engine) == []


def _enqueue_in_process(url: str, order: str, start: Any) -> int:
    engine = make_engine(url)
    emails = [email(i) for i in range(300)]
    if order == "reverse":
        emails.reverse()
    start.wait(10)
    created = 0
    for chunk in range(0, 300, 100):
        with session_scope(engine) as session:
            created += enqueue(session, emails[chunk : chunk + 100], now=NOW, sender_domain=DOMAIN).created
    engine.dispose()
    return created


def test_two_processes_enqueue_the_same_keys_once(engine: Engine, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    start = manager.Event()
    with context.Pool(2) as pool:
        results = [pool.apply_async(_enqueue_in_process, (database_url, order, start)) for order in ("same", "reverse")]
        start.set()
        created = [r.get(timeout=60) for r in results]
    manager.shutdown()
    rows = all_rows(engine)
    assert sum(created) == 300
    assert len(rows) == 300
    assert max(Counter(r.idempotency_key for r in rows).values()) == 1


def _set_status(engine: Engine, status: OutboxStatus, ids: list[int]) -> None:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id.in_(ids)).values(status=status, attempts=3))


def test_list_and_count(engine: Engine) -> None:
    with session_scope(engine) as session:
        enqueue(session, [email(i) for i in range(5)], now=NOW, sender_domain=DOMAIN)
    _set_status(engine, OutboxStatus.FAILED, [1, 2])
    with session_scope(engine) as session:
        counts = counts_by_status(session)
        failed = list_messages(session, OutboxStatus.FAILED)
        newest = list_messages(session, limit=2)
    assert counts[OutboxStatus.PENDING] == 3 and counts[OutboxStatus.FAILED] == 2 and counts[OutboxStatus.SENT] == 0
    assert set(counts) == set(OutboxStatus)
    assert [m.id for m in failed] == [2, 1]
    assert [m.id for m in newest] == [5, 4]


def test_resend_and_dismiss_unknown_or_failed(engine: Engine) -> None:
    with session_scope(engine) as session:
        enqueue(session, [email(i) for i in range(4)], now=NOW, sender_domain=DOMAIN)
    _set_status(engine, OutboxStatus.UNKNOWN, [1, 2])
    _set_status(engine, OutboxStatus.FAILED, [3])
    later = NOW + timedelta(days=1)
    with session_scope(engine) as session:
        assert resend(session, [1, 3], now=later, actor="ops:anna") == 2
        assert dismiss(session, [2], now=later, actor="ops:anna") == 1
    rows = {r.id: r for r in all_rows(engine)}
    assert rows[1].status is OutboxStatus.PENDING and rows[1].attempts == 0 and rows[1].next_attempt_at == later
    assert rows[3].status is OutboxStatus.PENDING
    assert rows[2].status is OutboxStatus.DISMISSED
    with session_scope(engine) as session:
        events = list(session.exec(select(DomainEvent).order_by(DomainEvent.id)))  # type: ignore[arg-type]
    assert [(e.action, e.subject_id, e.actor) for e in events] == [
        ("kim.outbox.resent", "1", "ops:anna"),
        ("kim.outbox.resent", "3", "ops:anna"),
        ("kim.outbox.dismissed", "2", "ops:anna"),
    ]
    assert events[0].payload["previous_status"] == "unknown" and "@" not in str([e.payload for e in events])


@pytest.mark.parametrize("action", [resend, dismiss])
def test_operator_actions_refuse_other_states_and_change_nothing(engine: Engine, action: object) -> None:
    with session_scope(engine) as session:
        enqueue(session, [email(i) for i in range(2)], now=NOW, sender_domain=DOMAIN)
    _set_status(engine, OutboxStatus.UNKNOWN, [1])
    with pytest.raises(OutboxActionError, match="2 \\(pending\\)"), session_scope(engine) as session:
        action(session, [1, 2], now=NOW, actor="ops")  # type: ignore[operator]
    with pytest.raises(OutboxActionError, match="nicht gefunden: 99"), session_scope(engine) as session:
        action(session, [1, 99], now=NOW, actor="ops")  # type: ignore[operator]
    assert [r.status for r in all_rows(engine)] == [OutboxStatus.UNKNOWN, OutboxStatus.PENDING]
    with session_scope(engine) as session:
        assert session.exec(select(DomainEvent)).first() is None


def test_only_addresses_read_from_stored_contacts_skip_the_syntax_check(engine: Engine) -> None:
    """A contact's address was normalised at import (the only writer); any other address is checked on enqueue."""
    from kim_workflow.db.models import Contact
    from kim_workflow.email.kinds import MessageKind
    from kim_workflow.email.specs import SPECS
    from kim_workflow.services.mailer import Mailer, Recipient
    from kim_workflow.settings import Settings

    mailer = Mailer(Settings(_env_file=None))  # type: ignore[call-arg]
    contact = Contact(id=7, kommune_id=1, name="Jürgen Müller", email="im@mainz.de", role="integration_manager")

    def compose(*to: Recipient) -> NewEmail:
        kind = MessageKind.DELIVERABLE_REMINDER
        return mailer.compose(kind, subject_ref="x", occasion="o", to=to, context=SPECS[kind].sample)

    assert compose(Recipient.of(contact)).addresses_normalised
    assert not compose(Recipient.of(contact), Recipient("vertretung@mainz.de")).addresses_normalised
    assert not compose(Recipient("IM@Mainz.DE")).addresses_normalised
    with session_scope(engine) as session:
        enqueue(session, [compose(Recipient("IM@Mainz.DE"))], now=NOW, sender_domain=DOMAIN)
    assert [row.recipient for row in all_rows(engine)] == ["IM@mainz.de"]  # checked: the domain lower-cased
    with pytest.raises(InvalidValueError), session_scope(engine) as session:
        enqueue(session, [compose(Recipient("kein-at-zeichen"))], now=NOW, sender_domain=DOMAIN)
