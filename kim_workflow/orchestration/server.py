"""Running ``prefect server start`` as a child process and waiting until it answers."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if kim up dies, even by SIGKILL, so it never outlives it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerError(RuntimeError):
    """The Prefect server cannot start here (German message for the user)."""


def _in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def wait_for_health(api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``<api_url>/health`` until it answers 200; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"Prefect server at {api_url} did not answer within {timeout:.0f} s")


class PrefectServer:
    """``prefect server start --host HOST --port PORT`` in its own process group; stopped on exit."""

    def __init__(self, host: str, port: int, log_file: Path, startup_timeout: float = 120.0) -> None:
        self.host, self.port, self.log_file, self.startup_timeout = host, port, log_file, startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> PrefectServer:
        if _in_use(self.host, self.port):  # else the old server would answer our health check
            raise ServerError(
                f"Port {self.port} auf {self.host} ist schon belegt (läuft kim up bereits?). "
                "Bitte den anderen Prozess beenden oder kim up --port P wählen."
            )
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env=os.environ.copy(),
            )
        try:
            wait_for_health(self.api_url, self.startup_timeout, self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the whole process group (server and its workers), SIGKILL what is left after ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
