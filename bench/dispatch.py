"""Dispatch throughput: raw aiosmtplib vs. kim-workflow's outbox dispatch, against one aiosmtpd sink process.

    .venv/bin/python bench/dispatch.py [--n 5000] [--concurrency 4] [--repeats 3] [--database-url URL]

(a) raw, over ``concurrency`` reused connections, messages prepared before the clock starts:
    "raw-bytes": the wire bytes (``wire_bytes``, as the dispatcher sends them) with ``sendmail`` - the transport
    ceiling, no MIME work timed at all; "raw-msg": ``EmailMessage`` objects (``build_message``) with
    ``send_message``, which flattens each message while timed - how aiosmtplib is usually driven.
(b) dispatch: N outbox rows enqueued first (not timed), then ``dispatch_sync`` timed: claim + build + send + mark.
The sink (``CountingSink``) runs in a separate process and answers 250 to everything.
Medians of ``repeats`` runs are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kim_workflow.db.engine import make_engine, normalise_url, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.email.dispatcher import dispatch_sync
from kim_workflow.email.keys import outbox_key
from kim_workflow.email.mime import Envelope, address_only, build_message, new_message_id, wire_bytes
from kim_workflow.email.outbox import NewEmail, enqueue
from kim_workflow.email.sink import CountingSink
from kim_workflow.settings import Settings

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MAIL_FROM = "Kommunales Integrationsmanagement RLP <kim@mffki.rlp.de>"
TEXT = "Guten Tag,\n\nbitte denken Sie an den Jahresbericht 2026, fällig am 15.12.2026.\n\n" * 6
HTML = "<p>Guten Tag,</p><p>bitte denken Sie an den Jahresbericht 2026, fällig am 15.12.2026.</p>" * 6


# --- (a) raw aiosmtplib --------------------------------------------------------------------------------------


def envelope(i: int) -> Envelope:
    return Envelope(
        sender=MAIL_FROM,
        recipient=f"im{i}@kommune{i % 36}.de",
        subject=f"Erinnerung: Jahresbericht 2026 – Kommune {i}",
        text=TEXT,
        html=HTML,
        message_id=new_message_id("mffki.rlp.de"),
        date=NOW,
        reply_to="kim@mffki.rlp.de",
    )


async def _raw(port: int, n: int, concurrency: int, as_bytes: bool) -> float:
    envelopes = [envelope(i) for i in range(n)]
    payloads = [wire_bytes(e) for e in envelopes] if as_bytes else []
    messages: list[EmailMessage] = [] if as_bytes else [build_message(e) for e in envelopes]
    next_index = iter(range(n))
    sender = address_only(MAIL_FROM)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for i in next_index:
            recipients = [envelopes[i].recipient]
            if as_bytes:
                await smtp.sendmail(sender, recipients, payloads[i])
            else:
                await smtp.send_message(messages[i], sender=sender, recipients=recipients)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


def raw(port: int, n: int, concurrency: int, *, as_bytes: bool) -> float:
    return asyncio.run(_raw(port, n, concurrency, as_bytes))


# --- (b) kim-workflow dispatch -------------------------------------------------------------------------------


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A migrated empty database: a temp SQLite file, or a throw-away schema on the given PostgreSQL server."""
    if not url:
        with tempfile.TemporaryDirectory(prefix="kim-bench-") as folder:
            yield _migrated(f"sqlite:///{Path(folder) / 'bench.db'}")
        return
    server, schema = normalise_url(url), f"kim_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in server else "?"
        yield _migrated(f"{server}{separator}options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrated(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def dispatch(port: int, n: int, concurrency: int, database_url: str | None) -> float:
    with fresh_database(database_url) as url:
        engine = make_engine(url)
        emails = [_new_email(i) for i in range(n)]
        with session_scope(engine) as session:
            enqueue(session, emails, now=NOW, sender_domain="mffki.rlp.de")
        settings = Settings(
            database_url=url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            dispatch_concurrency=concurrency,
            mail_from=MAIL_FROM,
            _env_file=None,
        )
        started = time.perf_counter()
        report = dispatch_sync(engine, settings, now=NOW)
        elapsed = time.perf_counter() - started
        engine.dispose()
    if report.sent != n:
        raise SystemExit(f"dispatch sent {report.sent} of {n}: {report.summary()}")
    return n / elapsed


def _new_email(i: int) -> NewEmail:
    e = envelope(i)
    key = outbox_key("deliverable_reminder", f"kommune:{i:08d}", e.recipient, "year:2026|stage:reminder-14")
    return NewEmail(
        idempotency_key=key,
        kind="deliverable_reminder",
        subject_ref=f"kommune:{i:08d}",
        recipient=e.recipient,
        subject=e.subject,
        text=e.text,
        html=e.html,
    )


# --- main ----------------------------------------------------------------------------------------------------


def measure(repeats: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Each repeat runs every variant once (interleaved, so drift hits all alike); the medians per variant."""
    figures: dict[str, list[float]] = {label: [] for label in runs}
    for attempt in range(1, repeats + 1):
        for label, run in runs.items():
            figures[label].append(run())
            print(f"  run {attempt} {label:<10} {figures[label][-1]:8.0f} msg/s", flush=True)
    return {label: statistics.median(values) for label, values in figures.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: temp SQLite file)")
    args = parser.parse_args(argv)
    database = "PostgreSQL" if args.database_url else "SQLite (temp file)"
    print(f"N={args.n}, concurrency={args.concurrency}, repeats={args.repeats}, database={database}")
    print(f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}, aiosmtplib {aiosmtplib.__version__}")
    n, concurrency = args.n, args.concurrency
    with CountingSink() as sink:
        port = sink.port
        medians = measure(
            args.repeats,
            {
                "raw-bytes": lambda: raw(port, n, concurrency, as_bytes=True),
                "raw-msg": lambda: raw(port, n, concurrency, as_bytes=False),
                "dispatch": lambda: dispatch(port, n, concurrency, args.database_url),
            },
        )
        delivered = sink.accepted
    print(f"sink received {delivered} of {n * args.repeats * 3} messages")
    print(f"raw-bytes (sendmail, wire bytes):     {medians['raw-bytes']:6.0f} msg/s (median)")
    print(f"raw-msg (send_message, EmailMessage): {medians['raw-msg']:6.0f} msg/s (median)")
    print(f"kim-workflow dispatch:                {medians['dispatch']:6.0f} msg/s (median)")
    print(f"ratio dispatch/raw-bytes:             {medians['dispatch'] / medians['raw-bytes']:6.0%}  (target >= 60%)")
    print(f"ratio dispatch/raw-msg:               {medians['dispatch'] / medians['raw-msg']:6.0%}")


if __name__ == "__main__":
    main()
