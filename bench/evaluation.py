"""Benchmarks of the questionnaire (issue #14): the import of workbooks and the evaluation of 5 years.

    .venv/bin/python bench/evaluation.py [--part import|evaluation|all] [--database-url URL]
        import:     [--runs 3] [--kommunen 36]
        evaluation: [--sizes 36 3600] [--years 5] [--repeats 3]

Both parts give each run a fresh database (a temporary SQLite file unless --database-url names a PostgreSQL server;
then a schema of its own).

Import (``import_run``): the 36 Kommunen of Rheinland-Pfalz, an open 2026 cycle in which every Kommune owes the
Fragebogen, one workbook per Kommune written by ``kim questionnaire workbook``'s service and filled with complete
answers by openpyxl (not timed). Timed: ``import_workbooks`` of all files in one transaction (every cell checked,
every answer submitted, every questionnaire recorded as received with its confirmation email queued), committed.
Printed: each run's wall time, the median, and the process's peak resident memory. Target: under 5 s.

Evaluation (functions ``bench_evaluation_*``): N synthetic Kommunen (a third kreisfreie Städte), one opened cycle
per year, a questionnaire deliverable per Kommune and year, and seeded answers (``kim_workflow.simulation.answers``)
submitted by 90 % of them (not timed). The timed run evaluates the last year against the earlier ones exactly as
``kim evaluation --year Y --compare …`` does — load every year's submitted answers, summarise, compare, write CSV,
XLSX and the HTML report with its charts — in a fresh Python process, so that its peak RSS (``ru_maxrss``, imports
included) is the evaluation's alone. Printed: the median of the repeats for wall time (load / compute / write /
total) and peak memory; targets 60 s and 1 GB for 5 years × 3,600.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _schema import throwaway_database  # noqa: E402  (bench/ is the script folder, first on sys.path)

from kim_workflow.core.domain import ContactRole, DeliverableKind, DeliverableStatus, KommuneKind  # noqa: E402
from kim_workflow.core.questionnaire import AnswerStatus  # noqa: E402
from kim_workflow.core.questionnaire_answers import answers_to_json  # noqa: E402
from kim_workflow.db.engine import make_engine, normalise_url, session_scope  # noqa: E402
from kim_workflow.db.migrate import upgrade  # noqa: E402
from kim_workflow.db.models import Contact, Cycle, Deliverable, Kommune, QuestionnaireAnswers  # noqa: E402
from kim_workflow.services import registry  # noqa: E402
from kim_workflow.services.cycles import open_cycle  # noqa: E402
from kim_workflow.services.questionnaire_import import import_workbooks  # noqa: E402
from kim_workflow.services.questionnaire_workbook import write_workbooks  # noqa: E402
from kim_workflow.services.questionnaires import load_questionnaire  # noqa: E402
from kim_workflow.settings import Settings  # noqa: E402
from kim_workflow.simulation.answers import simulated_answers  # noqa: E402
from tests.support.obligations import all_active_policy  # noqa: E402
from tests.support.questionnaire import NOW as IMPORT_NOW  # noqa: E402
from tests.support.questionnaire import complete_answers  # noqa: E402
from tests.support.workbooks import fill  # noqa: E402

NOW = datetime(2027, 1, 20, 9, tzinfo=UTC)
LAST_YEAR = 2026
SUBMITTED_SHARE = 0.9
TARGET_SECONDS, TARGET_BYTES = 60.0, 1 << 30
IMPORT_TARGET_SECONDS = 5.0


# --- workbook import ----------------------------------------------------------------------------------------------


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
            registry.seed_kommunen(session, now=IMPORT_NOW)
            open_cycle(session, policy=all_active_policy(2026), now=IMPORT_NOW, actor="bench")
            for kommune in session.exec(sa.select(Kommune).limit(kommunen)).scalars():  # type: ignore[call-overload]
                session.add(Contact(kommune_id=kommune.id, name=f"IM {kommune.ags}", email=f"im{kommune.ags}@k.example",
                                    role=ContactRole.INTEGRATION_MANAGER, created_at=IMPORT_NOW,
                                    updated_at=IMPORT_NOW))  # fmt: skip
        with session_scope(engine) as session:
            written = write_workbooks(session, settings, year=2026, out_dir=folder / "out", now=IMPORT_NOW)[:kommunen]
        questionnaire = load_questionnaire(2026)
        files = [(w.path.name, fill(w.path.read_bytes(), questionnaire, complete_answers(w.kommune.kind)))
                 for w in written]  # fmt: skip
        start = time.perf_counter()
        with session_scope(engine) as session:
            result = import_workbooks(
                session, settings, files=files, by="bench", now=IMPORT_NOW, today=IMPORT_NOW.date()
            )
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


def bench_import(database_url: str | None, runs: int, kommunen: int) -> None:
    times = []
    with tempfile.TemporaryDirectory(prefix="kim-bench-evaluation-") as tmp:
        for run in range(runs):
            folder = Path(tmp) / f"run-{run}"
            folder.mkdir()
            seconds = import_run(database_url, kommunen, folder)
            times.append(seconds)
            print(f"run {run + 1}: {kommunen} workbooks imported in {seconds:.2f} s", flush=True)
    median = statistics.median(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "within" if median < IMPORT_TARGET_SECONDS else "ABOVE"
    print(f"median of {runs}: {median:.2f} s ({verdict} the {IMPORT_TARGET_SECONDS:.0f} s target); "
          f"peak RSS of the process {peak_mb:.0f} MB")  # fmt: skip


# --- evaluation ---------------------------------------------------------------------------------------------------


def bench_evaluation_populate(engine: Engine, n: int, years: list[int], seed: int = 1) -> int:
    """N Kommunen, a cycle per year, questionnaire deliverables and submitted answers (bulk inserts); returns the
    number of answer rows."""
    rng = random.Random(seed)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Kommune),
            [{"ags": f"{90000000 + i}", "name": f"Kommune {i}", "active": True,
              "kind": KommuneKind.KREISFREIE_STADT if i % 3 == 0 else KommuneKind.LANDKREIS} for i in range(n)],
        )  # fmt: skip
        kommunen = connection.execute(sa.select(Kommune.id, Kommune.ags, Kommune.kind)).all()  # type: ignore[call-overload]
        connection.execute(
            sa.insert(Cycle), [{"year": y, "status": "open", "policy": {}, "opened_at": NOW} for y in years]
        )
        rows = 0
        for year in years:
            questionnaire = load_questionnaire(year)
            due = date(year, 12, 15)
            connection.execute(
                sa.insert(Deliverable),
                [{"kommune_id": k, "year": year, "kind": DeliverableKind.QUESTIONNAIRE, "original_due_date": due,
                  "due_date": due, "status": DeliverableStatus.OUTSTANDING, "due_revision": 0} for k, _, _ in kommunen],
            )  # fmt: skip
            answers = [
                {"kommune_id": k, "year": year, "status": AnswerStatus.SUBMITTED,
                 "questionnaire_version": questionnaire.version, "revision": 1, "updated_at": NOW,
                 "updated_by": "bench", "submitted_at": NOW, "submitted_by": "bench",
                 "answers": answers_to_json(simulated_answers(questionnaire, KommuneKind(kind),
                                                              seed=f"{seed}|{ags}|{year}", year=year))}
                for k, ags, kind in kommunen
                if rng.random() < SUBMITTED_SHARE
            ]  # fmt: skip
            connection.execute(sa.insert(QuestionnaireAnswers), answers)
            rows += len(answers)
    return rows


def bench_evaluation_child(url: str, year: int, compare: list[int], out: Path) -> dict[str, float]:
    """The timed part (run in its own process): what ``kim evaluation`` does, in three measured steps."""
    from kim_workflow.core.evaluation_tables import evaluate
    from kim_workflow.db.engine import session_scope
    from kim_workflow.services.evaluation import load_year, write_evaluation

    engine = make_engine(url)
    started = time.perf_counter()
    with session_scope(engine) as session:
        data = load_year(session, year=year, questionnaire_dir=None)
        earlier = [load_year(session, year=y, questionnaire_dir=None) for y in compare]
    loaded = time.perf_counter()
    evaluation = evaluate(data, earlier)
    computed = time.perf_counter()
    paths = write_evaluation(evaluation, out, now=NOW)
    done = time.perf_counter()
    engine.dispose()
    return {
        "load_s": loaded - started,
        "compute_s": computed - loaded,
        "write_s": done - computed,
        "wall_s": done - started,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: KiB
        "files": len(paths),
        "bytes_written": sum(p.stat().st_size for p in paths),
        "submitted": evaluation.summary.submitted[None],
    }


def bench_evaluation_run(n: int, years: int, repeats: int, database_url: str | None) -> dict[str, Any]:
    """Populate once, evaluate ``repeats`` times in fresh processes; medians of each figure."""
    span = list(range(LAST_YEAR - years + 1, LAST_YEAR + 1))
    with tempfile.TemporaryDirectory() as folder:
        url, cleanup = throwaway_database(database_url, Path(folder))
        try:
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            rows = bench_evaluation_populate(engine, n, span)
            populated = time.perf_counter() - started
            engine.dispose()
            runs = [_child(url, span, Path(folder) / f"out-{r}") for r in range(repeats)]
        finally:
            cleanup()
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    return {"n": n, "years": years, "answer_rows": rows, "populate_s": populated, **medians}


def _child(url: str, span: list[int], out: Path) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", url, "--year", str(span[-1]), "--out", str(out),
            "--compare", *map(str, span[:-1])]  # fmt: skip
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_evaluation_report(results: list[dict[str, Any]]) -> None:
    print(f"{'Kommunen':>9} {'years':>5} {'answers':>8} {'load':>7} {'compute':>8} {'write':>7} {'wall':>7} "
          f"{'peak RSS':>9} {'files':>6} {'MB out':>7}")  # fmt: skip
    for r in results:
        ok = r["wall_s"] < TARGET_SECONDS and r["peak_rss_bytes"] < TARGET_BYTES
        print(f"{r['n']:>9} {r['years']:>5} {r['answer_rows']:>8} {r['load_s']:>6.2f}s {r['compute_s']:>7.2f}s "
              f"{r['write_s']:>6.2f}s {r['wall_s']:>6.2f}s {r['peak_rss_bytes'] / 2**20:>7.0f}MB {r['files']:>6.0f} "
              f"{r['bytes_written'] / 2**20:>7.1f}  {'ok' if ok else 'ÜBER ZIEL'}", flush=True)  # fmt: skip


# --- shared -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["import", "evaluation", "all"], default="all")
    parser.add_argument("--runs", type=int, default=3, help="import: runs")
    parser.add_argument("--kommunen", type=int, default=36, choices=range(1, 37), metavar="1..36", help="import")
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 3600], help="evaluation: Kommunen per size")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--year", type=int, default=LAST_YEAR, help=argparse.SUPPRESS)
    parser.add_argument("--compare", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(bench_evaluation_child(args.child, args.year, args.compare, args.out)))
        return
    if args.part in ("import", "all"):
        bench_import(args.database_url, args.runs, args.kommunen)
    if args.part in ("evaluation", "all"):
        results = [bench_evaluation_run(n, args.years, args.repeats, args.database_url) for n in args.sizes]
        bench_evaluation_report(results)


if __name__ == "__main__":
    main()
