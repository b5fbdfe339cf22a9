"""A full daily sweep (plan + enqueue + dispatch to a local sink) for 36, 3,600 and 36,000 synthetic Kommunen.

    .venv/bin/python bench/sweep.py [--sizes 36 3600 36000] [--database-url URL]

Each size gets a fresh database (a temporary SQLite file unless --database-url names a PostgreSQL server; then a
schema of its own), N Kommunen with an integration manager and a deputy, and an open 2026 cycle. The timed sweep
runs on 3 November 2026, when the 42-day reminder is due for every Kommune: N emails. Printed per size: wall time
of planning+enqueueing and of dispatching, emails per second, SQL statements per sweep (cursor executions, an
executemany counts once), separately for plan+enqueue and for dispatch; the transport floor (N emails at the
raw-bytes rate of the same run: the sweep's own messages, pre-built, sent again with aiosmtplib ``sendmail`` to the
same sink) and wall ÷ floor (issue #18: ≤ 1.5×).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _schema import throwaway_database  # bench/ is the script's folder, first on sys.path

from kim_workflow.core.domain import ContactRole, DeliverableKind, DeliverableStatus, KommuneKind
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.db.models import Contact, Cycle, Deliverable, Kommune, OutboxMessage
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.mime import Attachment, Envelope, address_only, wire_bytes
from kim_workflow.email.sink import CountingSink
from kim_workflow.services.policies import load_policy
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings

NOW = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
TODAY = date(2026, 11, 3)


def populate(engine: Engine, n: int) -> None:
    """N Kommunen with IM and deputy, an open 2026 cycle with two deliverables each (bulk inserts, not timed)."""
    deadline = date(2026, 12, 15)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Kommune),
            [
                {"ags": f"{90000000 + i}", "name": f"Kommune {i}", "kind": KommuneKind.LANDKREIS, "active": True}
                for i in range(n)
            ],
        )
        ids = dict(connection.execute(sa.select(Kommune.id, Kommune.ags)).all())  # type: ignore[call-overload]
        contacts = []
        for kommune_id, ags in ids.items():
            for role, local in ((ContactRole.INTEGRATION_MANAGER, "im"), (ContactRole.DEPUTY, "vertretung")):
                contacts.append(
                    {
                        "kommune_id": kommune_id,
                        "name": f"{local} {ags}",
                        "email": f"{local}{ags}@x.example",
                        "role": role,
                        "active": True,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        connection.execute(sa.insert(Contact), contacts)
        connection.execute(sa.insert(Cycle), [{"year": 2026, "status": "open", "policy": {}, "opened_at": NOW}])
        connection.execute(
            sa.insert(Deliverable),
            [
                {
                    "kommune_id": kommune_id,
                    "year": 2026,
                    "kind": kind,
                    "original_due_date": deadline,
                    "due_date": deadline,
                    "status": DeliverableStatus.OUTSTANDING,
                    "due_revision": 0,
                }
                for kommune_id in ids
                for kind in DeliverableKind
            ],
        )


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


def run(n: int, database_url: str | None, sink: CountingSink) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url, cleanup = throwaway_database(database_url, Path(folder))
        try:
            engine = make_engine(url)
            upgrade(engine)
            populate(engine, n)
            settings = Settings(
                data_dir=Path(folder),
                database_url=url,
                smtp_host="127.0.0.1",
                smtp_port=sink.port,
                _env_file=None,  # type: ignore[call-arg]
            )
            load_policy(2026)  # warm the policy and template caches outside the timing
            counter = StatementCounter(engine)
            before = sink.accepted
            started = time.perf_counter()
            with session_scope(engine) as session:
                planned = sum(len(s.emails) for s in sweep_day(session, settings, today=TODAY, now=NOW))
            enqueued = time.perf_counter()
            plan_statements = counter.count
            report = dispatch_sync(engine, settings, now=NOW)
            done = time.perf_counter()
            accepted = sink.accepted - before
            floor_rate = raw_bytes_rate(engine, settings, sink.port)
            engine.dispose()
        finally:
            cleanup()
    wall = done - started
    return {
        "n": n,
        "planned": planned,
        "sent": report.sent,
        "accepted": accepted,
        "plan_s": enqueued - started,
        "dispatch_s": done - enqueued,
        "wall_s": wall,
        "per_s": report.sent / wall,
        "plan_sql": plan_statements,
        "dispatch_sql": counter.count - plan_statements,
        "floor_s": n / floor_rate,
    }


FLOOR_SAMPLE = 3000


def raw_bytes_rate(engine: Engine, settings: Settings, port: int) -> float:
    """The transport ceiling of this run: the sweep's own sent messages (up to ``FLOOR_SAMPLE``), their wire bytes
    built before the clock starts, sent again with aiosmtplib ``sendmail`` over as many connections as the
    dispatch uses, to the same sink. Emails per second."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(OutboxMessage.__table__).order_by(sa.text("id")).limit(FLOOR_SAMPLE)  # type: ignore[attr-defined]
        ).all()
    sender, reply_to = settings.mail_from, settings.mail_reply_to
    payloads = [
        (
            row.recipient,
            wire_bytes(
                Envelope(sender=sender, recipient=row.recipient, subject=row.subject, text=row.text_body,
                         html=row.html_body, message_id=row.message_id, date=NOW, reply_to=reply_to,
                         cc=tuple(row.cc), attachments=tuple(Attachment.from_json(a) for a in row.attachments))
            ),
        )
        for row in rows
    ]  # fmt: skip
    return asyncio.run(_send_raw(port, payloads, settings.dispatch_concurrency, address_only(sender)))


async def _send_raw(port: int, payloads: list[tuple[str, bytes]], concurrency: int, sender: str) -> float:
    todo = iter(payloads)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for recipient, data in todo:
            await smtp.sendmail(sender, [recipient], data)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(payloads) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 3600, 36000])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(
        f"{'Kommunen':>9} {'emails':>7} {'plan+enqueue':>13} {'dispatch':>9} {'wall':>8} {'emails/s':>9} "
        f"{'SQL plan':>9} {'SQL dispatch':>13} {'floor':>8} {'wall/floor':>10}"
    )
    with CountingSink() as sink:
        for n in args.sizes:
            r = run(n, args.database_url, sink)
            assert r["sent"] == r["planned"] == r["accepted"] == n, r
            print(
                f"{n:>9} {r['sent']:>7} {r['plan_s']:>12.2f}s {r['dispatch_s']:>8.2f}s {r['wall_s']:>7.2f}s "
                f"{r['per_s']:>9.0f} {r['plan_sql']:>9} {r['dispatch_sql']:>13} {r['floor_s']:>7.2f}s "
                f"{r['wall_s'] / r['floor_s']:>9.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
