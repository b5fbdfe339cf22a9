"""Questionnaire benchmarks (issue #14). Part ``import``: 36 filled workbooks imported in one call.

    .venv/bin/python bench/evaluation.py [--part import] [--runs 3] [--kommunen 36] [--database-url URL]

Each run gets a fresh database (a temporary SQLite file unless --database-url names a PostgreSQL server; then a
schema of its own) with the 36 Kommunen of Rheinland-Pfalz, an open 2026 cycle in which every Kommune owes the
Fragebogen, one workbook per Kommune written by ``kim questionnaire workbook``'s service and filled with complete
answers by openpyxl (not timed). Timed: ``import_workbooks`` of all files in one transaction (every cell checked,
every answer submitted, every questionnaire recorded as received with its confirmation email queued), committed.
Printed: each run's wall time, the median, and the process's peak resident memory. Target: under 5 s.
The evaluation parts (5 years × 36 and × 3,600 Kommunen) belong to the evaluation (#14 items 5–6).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kim_workflow.core.domain import ContactRole
from kim_workflow.db.engine import make_engine, normalise_url, session_scope
from kim_workflow.db.migrate import upgrade
from kim_workflow.db.models import Contact, Kommune
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.questionnaire_import import import_workbooks
from kim_workflow.services.questionnaire_workbook import write_workbooks
from kim_workflow.services.questionnaires import load_questionnaire
from kim_workflow.settings import Settings
from tests.support.obligations import all_active_policy
from tests.support.questionnaire import NOW, complete_answers
from tests.support.workbooks import fill

TARGET_SECONDS = 5.0


def import_run(database_url: str | None, kommunen: int, folder: Path) -> float:
    """One fresh database, ``kommunen`` filled workbooks; the import's wall time in seconds."""
    schema = None
    if database_url and normalise_url(database_url).startswith("postgresql"):
        schema = f"kim_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(database_url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in database_url else "?"
        url = f"{normalise_url(database_url)}{separator}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        settings = Settings(data_dir=folder / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]
        with session_scope(engine) as session:
            registry.seed_kommunen(session, now=NOW)
            open_cycle(session, policy=all_active_policy(2026), now=NOW, actor="bench")
            for kommune in session.exec(sa.select(Kommune).limit(kommunen)).scalars():  # type: ignore[call-overload]
                session.add(Contact(kommune_id=kommune.id, name=f"IM {kommune.ags}", email=f"im{kommune.ags}@k.example",
                                    role=ContactRole.INTEGRATION_MANAGER, created_at=NOW, updated_at=NOW))  # fmt: skip
        with session_scope(engine) as session:
            written = write_workbooks(session, settings, year=2026, out_dir=folder / "out", now=NOW)[:kommunen]
        questionnaire = load_questionnaire(2026)
        files = [(w.path.name, fill(w.path.read_bytes(), questionnaire, complete_answers(w.kommune.kind)))
                 for w in written]  # fmt: skip
        start = time.perf_counter()
        with session_scope(engine) as session:
            result = import_workbooks(session, settings, files=files, by="bench", now=NOW, today=NOW.date())
        elapsed = time.perf_counter() - start
        assert result.stored and len(result.files) == kommunen, result.problems[:3]
        return elapsed
    finally:
        engine.dispose()
        if schema is not None:
            admin = make_engine(database_url or "")
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["import"], default="import")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kommunen", type=int, default=36, choices=range(1, 37), metavar="1..36")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory(prefix="kim-bench-evaluation-") as tmp:
        for run in range(args.runs):
            folder = Path(tmp) / f"run-{run}"
            folder.mkdir()
            seconds = import_run(args.database_url, args.kommunen, folder)
            times.append(seconds)
            print(f"run {run + 1}: {args.kommunen} workbooks imported in {seconds:.2f} s", flush=True)
    median = statistics.median(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "within" if median < TARGET_SECONDS else "ABOVE"
    print(f"median of {args.runs}: {median:.2f} s ({verdict} the {TARGET_SECONDS:.0f} s target); "
          f"peak RSS of the process {peak_mb:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
