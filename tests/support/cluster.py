"""A production-shaped cluster for tests and benchmarks: a Prefect server on a fresh PostgreSQL database of its own,
``kim deploy``, and ``kim worker`` processes (each in its own session, so that it can be SIGKILLed with its runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kim_workflow.email.sink import free_port
from kim_workflow.orchestration.environment import QUIET, SERVER_TUNING
from tests.support.kim_up import wait_for

BIN = Path(sys.executable).parent


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "kim_prefect") -> Iterator[str]:
    """A new database (with ``pg_trgm``, which Prefect needs) on the server of ``server_url``; dropped afterwards.
    Yields its asyncpg URL for ``PREFECT_API_DATABASE_CONNECTION_URL``."""
    url = make_url(server_url).set(drivername="postgresql+psycopg", query={})
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    own = sa.create_engine(url.set(database=name), isolation_level="AUTOCOMMIT")
    with own.connect() as connection:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    own.dispose()
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of every process of the cluster: nothing of the caller's Prefect or kim settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KIM_"))}
    env.update(QUIET)
    env.update(SERVER_TUNING)
    env.update({"PREFECT_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class Processes:
    """Child processes, each in a session of its own, with its output in a log file; stopped on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[str]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("w")
        self._logs.append(log)
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children[name] = child
        return child

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.children[name]
        with suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        child.wait(timeout=60)

    def stop_all(self) -> None:
        for name, child in reversed(list(self.children.items())):
            if child.poll() is None:
                self.kill(name, signal.SIGTERM)
        for log in self._logs:
            log.close()


def start_server(processes: Processes, env: dict[str, str], database_url: str) -> str:
    """``prefect server start`` on a free port and the given database; returns its API URL once healthy."""
    port = free_port()
    server_env = {**env, "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
                  "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}  # fmt: skip
    processes.start("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    server_env)  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        if processes.children["server"].poll() is not None:
            raise AssertionError("Prefect server ended:\n" + processes.log("server")[-3000:])
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return bool(response.status == 200)

    wait_for(healthy, "the Prefect server", timeout=120, every=0.5)
    return api


def descendants_with_env(marker: str) -> list[int]:
    """Processes of this user whose environment holds ``marker`` (e.g. ``PREFECT__FLOW_RUN_ID=<id>``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in environ:
                found.append(int(entry.name))
    return found


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def owning_child(processes: Processes, pid: int) -> str | None:
    """Which of ``processes`` started ``pid`` (walking up the parents)."""
    by_pid = {child.pid: name for name, child in processes.children.items()}
    while pid > 1:
        if pid in by_pid:
            return by_pid[pid]
        try:
            pid = parent_of(pid)
        except (OSError, ValueError, IndexError):
            return None
    return None


def kill_tree(pid: int) -> None:
    """SIGKILL a flow-run process and its process group (the worker may start it in a session of its own)."""
    with suppress(ProcessLookupError, PermissionError):
        group = os.getpgid(pid)
        if group != os.getpgid(0):  # never the test's own group
            os.killpg(group, signal.SIGKILL)
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
