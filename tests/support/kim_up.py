"""The real ``kim up`` as a child process, as the README starts it, and a small client for its Prefect API."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

from kim_workflow.email.sink import free_port
from kim_workflow.orchestration.deployments import read_specs

KIM = str(Path(sys.executable).with_name("kim"))
PROJECT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = {spec.name for spec in read_specs(PROJECT / "prefect.yaml")}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except OSError:
            pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class KimUp:
    """``kim up --port P`` with a data folder of its own, no SMTP settings and no outside Prefect."""

    def __init__(
        self, data_dir: Path, log_path: Path, port: int | None = None, database_url: str | None = None
    ) -> None:
        self.data_dir, self.log_path = data_dir, log_path
        self.port = port or free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KIM_"))}
        self.portal_port = free_port()
        self.env.update(
            {"KIM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "KIM_PORTAL_PORT": str(self.portal_port)}
        )
        if database_url:  # e.g. the test run's PostgreSQL schema; by default kim up's own SQLite file
            self.env["KIM_DATABASE_URL"] = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mail" / "new"

    def start(self, timeout: float = 180) -> list[dict[str, Any]]:
        """Start and wait until every deployment of prefect.yaml is served; return them."""
        offset = len(self.log())
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [KIM, "up", "--port", str(self.port)], env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=PROJECT,
        )  # fmt: skip
        wait_for(lambda: "Prefect-Oberfläche:" in self._alive_log()[offset:], "kim up to serve", timeout, every=0.5)
        return self.wait_for_deployments(timeout)

    def _alive_log(self) -> str:
        assert self.process is not None and self.process.poll() is None, self.log()
        return self.log()

    def wait_for_deployments(self, timeout: float) -> list[dict[str, Any]]:
        def served() -> list[dict[str, Any]] | None:
            assert self.process is not None and self.process.poll() is None, self.log()
            deployments = list(self.api("/deployments/filter", {}))
            return deployments if {d["name"] for d in deployments} >= DEPLOYMENTS else None

        found: list[dict[str, Any]] = wait_for(served, "the deployments to be served", timeout, every=0.5)
        return found

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.process = None
        if self._log is not None:
            self._log.close()
        if sig is signal.SIGKILL:  # nothing ran kim up's shutdown: wait until its server is gone (PDEATHSIG)
            wait_for(lambda: not self.leftovers(), "the Prefect server to die with kim up", 30)
        return code

    def leftovers(self) -> list[str]:
        """Processes still running for this port (the Prefect server and its workers)."""
        found = subprocess.run(["pgrep", "-f", "--", f"--port {self.port}"], capture_output=True, text=True)
        return found.stdout.split()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kim(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A ``kim`` command as an admin types it while ``kim up`` runs (same data folder)."""
        return subprocess.run(
            [KIM, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=PROJECT, check=False
        )

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method="POST" if body is not None else "GET",
        )
        for attempt in range(10):  # a busy server (2 cores, a fresh SQLite database) may answer 503 for a moment
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    raw = response.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                if exc.code != 503 or attempt == 9:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    def has_input(self, run_id: str, key: str) -> bool:
        try:
            self.api(f"/flow_runs/{run_id}/input/{key}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def flow_runs(self, deployment: str) -> list[dict[str, Any]]:
        runs = self.api("/flow_runs/filter", {"deployments": {"name": {"any_": [deployment]}}})
        return list(runs)

    def mails(self) -> list[EmailMessage]:
        """Every email the local sink received, parsed (headers decoded)."""
        files = sorted(self.maildir.glob("*")) if self.maildir.exists() else []
        return [email.message_from_bytes(p.read_bytes(), _class=EmailMessage, policy=policy.default) for p in files]
