"""Fault injection with a real SMTP server and database: outages, greylisting, bounces, crashes, races."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from kim_workflow.app import utc_now
from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import DomainEvent, OutboxMessage, ReminderLog
from kim_workflow.email import outbox
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.dispatcher.store import recover_stale
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.registry import reference_kommunen
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from kim_workflow.simulation.runner import at, populate
from kim_workflow.simulation.scenario import Submit, build_scenario
from tests.faults.conftest import Season
from tests.support.obligations import all_active_policy
from tests.support.smtp import SmtpServer

REMINDER_DAY = date(2026, 11, 3)  # 42 days before 15 December: a reminder for each of the 36 Kommunen
OUTAGE = (date(2026, 11, 1), date(2026, 11, 7))


def outstanding_on(day: date) -> int:
    """Kommunen of the season's scenario (seed 7) with something not yet submitted on ``day``."""
    scenario = build_scenario([k.ags for k in reference_kommunen()], year=2026, seed=7)
    done = Counter(e.ags for d, events in scenario.events.items() if d < day for e in events if isinstance(e, Submit))
    return sum(1 for plan in scenario.plans if done[plan.ags] < 2)


def rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def assert_each_delivered_once(engine: Engine, smtp: SmtpServer) -> list[OutboxMessage]:
    messages = rows(engine)
    received = smtp.handler.received_ids()
    assert {m.status for m in messages} == {OutboxStatus.SENT}
    assert set(received) == {m.message_id for m in messages}
    assert set(received.values()) == {1}
    return messages


def test_a_week_without_mail_server_loses_and_duplicates_nothing(
    engine: Engine, smtp_server: SmtpServer, season: Season
) -> None:
    def outage(day: date) -> None:
        smtp_server.handler.behaviour.temp_fail_all = OUTAGE[0] <= day <= OUTAGE[1]

    result = season(outage, end=date(2026, 11, 20), dispatch_max_attempts=20)
    messages = assert_each_delivered_once(engine, smtp_server)
    assert result.delivery["retried"] > 0 and result.delivery["failed"] == result.delivery["unknown"] == 0
    reminders = [m for m in messages if "stage:reminder-42" in m.idempotency_key]
    assert len(reminders) == outstanding_on(REMINDER_DAY) == 34
    assert all(m.sent_at is not None and m.sent_at.date() == OUTAGE[1] + timedelta(days=1) for m in reminders)


def test_greylisting_30_percent_delivers_every_message_exactly_once(
    engine: Engine, smtp_server: SmtpServer, season: Season, settings: Settings
) -> None:
    smtp_server.handler.behaviour.temp_fail_ratio = 0.3
    result = season()
    # Messages greylisted on the last simulated day are retried after their backoff: one more dispatch run.
    drain = dispatch_sync(engine, settings, now=at(date(2027, 1, 1)))
    messages = assert_each_delivered_once(engine, smtp_server)
    greylisted = sum(1 for m in messages if m.attempts == 2)
    assert result.delivery["retried"] == greylisted > 0
    assert result.delivery["sent"] + drain.sent == len(messages) == result.emails


def test_a_550_fails_one_address_permanently_and_nobody_else(
    engine: Engine, smtp_server: SmtpServer, season: Season
) -> None:
    bad = f"im{reference_kommunen()[1].ags}@kommune.example"  # integration manager only, no deputy in Cc
    smtp_server.handler.behaviour.reject_rcpt_550 = {bad}
    result = season(end=date(2026, 11, 30))
    messages = rows(engine)
    to_bad = [m for m in messages if m.recipient == bad]
    with session_scope(engine) as session:
        failed = outbox.list_messages(session, status=OutboxStatus.FAILED, limit=1000)
        events = session.exec(select(DomainEvent).where(col(DomainEvent.action) == "kim.email.failed")).all()
    assert to_bad and {m.id for m in failed} == {m.id for m in to_bad}
    assert sorted(int(e.subject_id) for e in events) == sorted(m.id or 0 for m in to_bad)
    assert result.delivery["failed"] == len(to_bad)
    others = [m for m in messages if m.recipient != bad]
    assert {m.status for m in others} == {OutboxStatus.SENT}
    received = smtp_server.handler.received_ids()
    assert set(received) == {m.message_id for m in others} and set(received.values()) == {1}


def _queue_reminders(engine: Engine, settings: Settings) -> int:
    populate(engine, 36, now=at(date(2026, 9, 30)))
    with session_scope(engine) as session:
        open_cycle(session, policy=all_active_policy(2026), now=at(date(2026, 9, 30)), actor="t")
        sweep_day(session, settings, today=REMINDER_DAY, now=at(REMINDER_DAY))
    return len(rows(engine))


def _dispatch_process(database_url: str, smtp: SmtpServer, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIM_")}
    env |= {"KIM_DATABASE_URL": database_url, "KIM_SMTP_HOST": smtp.host, "KIM_SMTP_PORT": str(smtp.port),
            "KIM_DATA_DIR": str(tmp_path / "data"), "KIM_DISPATCH_CONCURRENCY": "2"}  # fmt: skip
    command = [sys.executable, "-c", "from kim_workflow.cli import main; main()", "outbox", "dispatch"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.timeout(120)
def test_sigkill_in_the_middle_of_a_dispatch_loses_nothing_and_resends_nothing(
    engine: Engine, settings: Settings, smtp_server: SmtpServer, database_url: str, tmp_path: Path
) -> None:
    total = _queue_reminders(engine, settings)
    smtp_server.handler.behaviour.data_delay_seconds = 0.2
    process = _dispatch_process(database_url, smtp_server, tmp_path)
    deadline = time.monotonic() + 60
    while sum(smtp_server.handler.attempts.values()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.5)  # the sink finishes the DATA it had begun
    at_kill = rows(engine)
    in_flight = {m.id for m in at_kill if m.status is OutboxStatus.SENDING}
    claimed = {m.id for m in at_kill if m.status is OutboxStatus.CLAIMED}
    recovered = recover_stale(engine, now=utc_now(), older_than=timedelta(0))
    smtp_server.handler.behaviour.data_delay_seconds = 0
    dispatch_sync(engine, settings, now=utc_now())

    after = rows(engine)
    unknown = {m.id for m in after if m.status is OutboxStatus.UNKNOWN}
    assert len(after) == total and (recovered.unknown, recovered.released) == (len(in_flight), len(claimed))
    # unknown: only what was on the wire or sent and not yet recorded — at most one start window (8 per
    # connection, 2 connections) plus the connections' messages; the rest of the claimed batch was queued again
    assert unknown == in_flight and 0 < len(unknown) <= 8 * 2 + 2 and claimed
    assert {m.status for m in after} <= {OutboxStatus.SENT, OutboxStatus.UNKNOWN}
    received = smtp_server.handler.received_ids()
    assert set(received.values()) == {1}  # nothing was sent twice
    assert {m.message_id for m in after if m.status is OutboxStatus.SENT} <= set(received)
    assert {m.message_id for m in after if m.id in claimed} <= set(received)  # released ones went out once


def test_the_same_days_sweep_twice_queues_nothing_new(engine: Engine, settings: Settings) -> None:
    total = _queue_reminders(engine, settings)
    with session_scope(engine) as session:
        again = sweep_day(session, settings, today=REMINDER_DAY, now=at(REMINDER_DAY))
    assert total == 36 and [s.queued for s in again] == [0] and len(rows(engine)) == 36


def test_four_sweeps_at_once_queue_each_key_exactly_once(engine: Engine, settings: Settings, database_url: str) -> None:
    populate(engine, 36, now=at(date(2026, 9, 30)))
    with session_scope(engine) as session:
        open_cycle(session, policy=all_active_policy(2026), now=at(date(2026, 9, 30)), actor="t")
    barrier, errors, queued = threading.Barrier(4), list[BaseException](), list[int]()

    def sweep() -> None:
        own = make_engine(database_url)
        try:
            barrier.wait()
            with session_scope(own) as session:
                queued.extend(s.queued for s in sweep_day(session, settings, today=REMINDER_DAY, now=at(REMINDER_DAY)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    keys = Counter(m.idempotency_key for m in rows(engine))
    assert sum(queued) == len(keys) == 36 and set(keys.values()) == {1}
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(ReminderLog)).one() == 36


def test_database_unreachable_fails_the_flow_visibly_and_the_next_run_completes_the_day(
    kim_flow_env: str, engine: Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.daily_sweep as module
    from flows.daily_sweep import daily_sweep
    from kim_workflow.orchestration.cycle_tasks import plan_and_enqueue

    # the task keeps its retries (3 attempts), without the 5 s and 30 s pauses
    monkeypatch.setattr(module, "plan_and_enqueue", plan_and_enqueue.with_options(retry_delay_seconds=0))
    _queue_reminders_setup(engine)
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("KIM_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/kim?connect_timeout=2")
    state = daily_sweep(today=REMINDER_DAY, return_state=True)
    assert state.is_failed()
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(ReminderLog)).one() == 0
    assert rows(engine) == [] and smtp_server.handler.received == []
    monkeypatch.setenv("KIM_DATABASE_URL", kim_flow_env)
    assert daily_sweep(today=REMINDER_DAY, return_state=True).is_completed()
    assert_each_delivered_once(engine, smtp_server)
    assert len(rows(engine)) == 36


def _queue_reminders_setup(engine: Engine) -> None:
    populate(engine, 36, now=at(date(2026, 9, 30)))
    with session_scope(engine) as session:
        open_cycle(session, policy=all_active_policy(2026), now=at(date(2026, 9, 30)), actor="t")
