"""Issue #17: the same batch of flow runs with 1 and with 2 ``kim worker`` processes, and the Prefect server's cost
per flow run on PostgreSQL against SQLite.

    .venv/bin/python bench/workers.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/kim_bench \
        [--submissions 200] [--kommunen 3600] [--workers 1 2] [--backends postgres sqlite]

Per (Prefect backend, worker count): a fresh Prefect server (``prefect server start``; PostgreSQL: a new database
on the server of ``--database-url``; SQLite: a new file), ``kim deploy``, a fresh kim schema on that PostgreSQL
server with ``--kommunen`` synthetic Kommunen (as ``bench/sweep.py``) and an open 2026 cycle, then the workers. The
timed batch: one ``daily-sweep`` on 3 November 2026 (the 42-day reminder for every Kommune) and ``--submissions``
``record-submission`` runs (each triggers a ``submission-received`` run), all created at once; the clock stops
when every one of them (and every triggered run) is final; each run sends its own emails. Also timed:
``create_flow_run`` round trips against the API (median of 30), the server's share of a flow run. Emails go to a
counting sink. Prints one table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import populate  # bench/sweep.py

from kim_workflow.db.engine import make_engine, normalise_url
from kim_workflow.db.migrate import upgrade
from kim_workflow.email.sink import CountingSink
from tests.support.cluster import BIN, Processes, fresh_postgres_database, prefect_env, start_server
from tests.support.kim_up import wait_for
from tests.support.obligations import write_all_active

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def kim_schema(server: str) -> tuple[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}", drop


def batch(api: httpx.Client, submissions: int, ags: list[str]) -> float:
    ids = {d["name"]: d["id"] for d in api.post("/deployments/filter", json={}).raise_for_status().json()}
    start = time.perf_counter()

    def create(name: str, parameters: dict[str, Any]) -> None:
        body = {"parameters": parameters, "enforce_parameter_schema": False}  # synthetic AGS are in no dropdown
        api.post(f"/deployments/{ids[name]}/create_flow_run", json=body).raise_for_status()

    create("daily-sweep", {"today": "03.11.2026"})
    for i in range(submissions):
        create("record-submission", {"submission": {"ags": ags[i % len(ags)], "year": 2026, "kind": "Jahresbericht",
                                                    "received_on": "02.11.2026"}, "actor": "bench"})  # fmt: skip
    expected = 1 + 2 * submissions

    def done() -> bool:
        runs = api.post("/flow_runs/filter", json={"limit": 200, "offset": 0}).raise_for_status().json()
        total = api.post("/flow_runs/count", json={}).raise_for_status().json()
        final = api.post("/flow_runs/count", json={"flow_runs": {"state": {"type": {"any_": sorted(FINAL)}}}})
        return bool(runs) and total >= expected and final.raise_for_status().json() == total

    wait_for(done, "the batch", timeout=3600, every=1)
    return time.perf_counter() - start


def create_round_trips(api: httpx.Client, n: int = 30) -> float:
    deployment = api.get("/deployments/name/registry-check/registry-check").raise_for_status().json()["id"]
    api.patch(f"/deployments/{deployment}", json={"paused": True})  # created, never run: only the server's cost
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        api.post(f"/deployments/{deployment}/create_flow_run", json={}).raise_for_status()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def one(backend: str, workers: int, args: argparse.Namespace, sink: CountingSink) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        server = normalise_url(args.database_url)
        kim_url, drop = kim_schema(server)
        processes = Processes(folder)
        try:
            engine = make_engine(kim_url)
            upgrade(engine)
            populate(engine, args.kommunen)
            engine.dispose()
            write_all_active(folder / "data" / "policies")
            kim = {"KIM_DATABASE_URL": kim_url, "KIM_DATA_DIR": str(folder / "data"), "KIM_SMTP_HOST": sink.host,
                   "KIM_SMTP_PORT": str(sink.port)}  # fmt: skip
            env = prefect_env(folder / "prefect-home", **kim)
            with prefect_database(backend, server, folder) as prefect_db:
                api_url = start_server(processes, env, prefect_db)
                env.update({"PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "2"})
                assert processes.start("deploy", [str(BIN / "kim"), "deploy"], env).wait(600) == 0, processes.log(
                    "deploy"
                )
                for i in range(workers):
                    processes.start(f"worker-{i}", [str(BIN / "kim"), "worker", "--name", f"w{i}"], env)
                with httpx.Client(base_url=api_url, timeout=60) as api:
                    ags = [f"{90000000 + i}" for i in range(args.kommunen)]
                    wall = batch(api, args.submissions, ags)
                    create = create_round_trips(api)
                processes.stop_all()
            return {"wall_s": wall, "create_ms": create * 1000}
        finally:
            processes.stop_all()
            drop()


@contextmanager
def prefect_database(backend: str, server: str, folder: Path) -> Iterator[str]:
    """The URL of a new Prefect database: a file (SQLite) or a new database on ``server`` (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'prefect.db'}"
        return
    with fresh_postgres_database(server, prefix="kim_bench_prefect") as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (kim's schema, Prefect's database)")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--kommunen", type=int, default=3600)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"], choices=["postgres", "sqlite"])
    args = parser.parse_args()
    results: dict[tuple[str, int], dict[str, float]] = {}
    with CountingSink() as sink:
        for backend in args.backends:
            for workers in args.workers:
                results[(backend, workers)] = one(backend, workers, args, sink)
                print(backend, workers, results[(backend, workers)], flush=True)
    runs = 1 + 2 * args.submissions
    print(f"\nbatch: 1 daily-sweep over {args.kommunen} Kommunen + {args.submissions} record-submission "
          f"(+ {args.submissions} triggered submission-received) = {runs} flow runs")  # fmt: skip
    print(f"{'Prefect DB':<11}{'workers':>8}{'wall s':>9}{'s/run':>8}{'ratio':>7}{'create_flow_run ms':>20}")
    for (backend, workers), figures in results.items():
        base = results.get((backend, min(args.workers)), figures)["wall_s"]
        print(f"{backend:<11}{workers:>8}{figures['wall_s']:>9.1f}{figures['wall_s'] / runs:>8.2f}"
              f"{base / figures['wall_s']:>7.2f}{figures['create_ms']:>20.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
