"""Benchmarks of the questionnaire: the evaluation of 5 years (and, later, the import of workbooks).

    .venv/bin/python bench/evaluation.py [--sizes 36 3600] [--years 5] [--repeats 3] [--database-url URL]

Evaluation (functions ``bench_evaluation_*``): each size gets a fresh database (a temporary SQLite file unless
--database-url names a PostgreSQL server; then a schema of its own) with N synthetic Kommunen (a third kreisfreie
Städte), one opened cycle per year, a questionnaire deliverable per Kommune and year, and seeded answers
(``kim_workflow.simulation.answers``) submitted by 90 % of them (not timed). The timed run evaluates the last year
against the earlier ones exactly as ``kim evaluation --year Y --compare …`` does — load every year's submitted
answers, summarise, compare, write CSV, XLSX and the HTML report with its charts — in a fresh Python process, so
that its peak RSS (``ru_maxrss``, imports included) is the evaluation's alone. Printed: the median of the repeats
for wall time (load / compute / write / total) and peak memory; targets 60 s and 1 GB for 5 years × 3,600.
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

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus, KommuneKind  # noqa: E402
from kim_workflow.core.questionnaire import AnswerStatus  # noqa: E402
from kim_workflow.core.questionnaire_answers import answers_to_json  # noqa: E402
from kim_workflow.db.engine import make_engine, normalise_url  # noqa: E402
from kim_workflow.db.migrate import upgrade  # noqa: E402
from kim_workflow.db.models import Cycle, Deliverable, Kommune, QuestionnaireAnswers  # noqa: E402
from kim_workflow.services.questionnaires import load_questionnaire  # noqa: E402
from kim_workflow.simulation.answers import simulated_answers  # noqa: E402

NOW = datetime(2027, 1, 20, 9, tzinfo=UTC)
LAST_YEAR = 2026
SUBMITTED_SHARE = 0.9
TARGET_SECONDS, TARGET_BYTES = 60.0, 1 << 30


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
        url, cleanup = _database(database_url, Path(folder))
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


def _database(database_url: str | None, folder: Path) -> tuple[str, Any]:
    if not database_url:
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    server = normalise_url(database_url)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 3600])
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
    results = []
    for n in args.sizes:
        results.append(bench_evaluation_run(n, args.years, args.repeats, args.database_url))
    bench_evaluation_report(results)


if __name__ == "__main__":
    main()
