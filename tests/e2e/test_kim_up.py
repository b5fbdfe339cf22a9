"""``kim up`` for real: a Prefect server child process, the served deployments, a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kim_workflow.email.sink import free_port
from kim_workflow.orchestration.deployments import read_specs

KIM = str(Path(sys.executable).with_name("kim"))


def api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for_deployments(url: str, names: set[str], timeout: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            deployments = api(url, "/deployments/filter", {})
            if names <= {d["name"] for d in deployments}:
                return list(deployments)
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"deployments {names} not served within {timeout} s")


def listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(240)
def test_kim_up_serves_the_deployments_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port, portal = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KIM_"))}
    env.update({"KIM_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1", "KIM_PORTAL_PORT": str(portal)})
    log = (tmp_path / "kim-up.log").open("w+")
    process = subprocess.Popen([KIM, "up", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        expected = {spec.name for spec in read_specs(Path(__file__).parents[2] / "prefect.yaml")}
        deployments = wait_for_deployments(f"http://127.0.0.1:{port}/api", expected)
        assert {d["name"]: d["paused"] for d in deployments} == dict.fromkeys(expected, False)
        sweep = next(d for d in deployments if d["name"] == "daily-sweep")
        assert sweep["schedules"][0]["schedule"] == {"cron": "0 7 * * *", "timezone": "Europe/Berlin", "day_or": True}
        check = next(d for d in deployments if d["name"] == "registry-check")
        assert check["schedules"][0]["schedule"]["cron"] == "30 6 * * *"
        assert check["schedules"][0]["schedule"]["timezone"] == "Europe/Berlin"
        assert (tmp_path / "data" / "prefect").is_dir() and (tmp_path / "data" / "kim.db").is_file()
        with urllib.request.urlopen(f"http://127.0.0.1:{portal}/", timeout=10) as page:  # the portal answers
            assert page.status == 200 and "KIM-Portal" in page.read().decode()
            assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    log.seek(0)
    output = log.read()
    assert code == 0, output
    assert f"http://127.0.0.1:{port}" in output and "kim up beendet." in output
    assert f"KIM-Portal: http://127.0.0.1:{portal}" in output
    assert not listening(port), "the Prefect server outlived kim up"
    assert not listening(portal), "the portal outlived kim up"
    leftovers = subprocess.run(["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True).stdout.split()
    assert leftovers == []


@pytest.mark.timeout(120)
def test_kim_up_refuses_a_port_that_is_taken_instead_of_talking_to_another_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KIM_"))}
        env["KIM_DATA_DIR"] = str(tmp_path / "data")
        done = subprocess.run([KIM, "up", "--port", str(port)], env=env, capture_output=True, text=True, timeout=100)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Port {port} auf 127.0.0.1 ist schon belegt" in done.stdout and "Traceback" not in done.stdout + done.stderr
