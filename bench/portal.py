"""The portal under load (issue #15): page latency at 1 and 20 concurrent clients, a 20 MB upload.

    .venv/bin/python bench/portal.py [--requests 400] [--upload-mb 20]

Prepares a SQLite data folder (36 Kommunen, contacts, year 2026 open, the 14-day reminder swept so that every
manager has a personal link), then starts ``kim portal`` as a child process on a free loopback port and measures
from outside, with real HTTP:
(1) ``GET /kommune`` (a signed-in Kommune's page: session look-up, deliverables, upload, template) — ``--requests``
    requests by 1 client, then by 20 concurrent clients (each its own session), after 20 warm-up requests; p50, p95.
(2) one upload of a ``--upload-mb`` PDF (streamed from a generator, never built in memory here either): wall time,
    and the portal's RSS growth — its peak RSS (``VmHWM``, reset through ``/proc/<pid>/clear_refs`` just before)
    minus its RSS before the upload.
Targets: p95 <= 100 ms at 20 clients; the 20 MB upload <= 2 s with RSS growth < 30 MB. Exit code 0 unless the
benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KIM = str(Path(sys.executable).with_name("kim"))
LINK = re.compile(r"/zugang/[A-Za-z0-9_-]+")


def prepare(data_dir: Path, port: int) -> list[str]:
    """The data folder and one link per Kommune (their paths)."""
    from sqlmodel import col, select

    from kim_workflow.app import bootstrap, prepare_database
    from kim_workflow.db.engine import session_scope
    from kim_workflow.db.models import OutboxMessage
    from kim_workflow.services import registry
    from kim_workflow.services.cycles import open_cycle
    from kim_workflow.services.sweep import sweep_day
    from kim_workflow.settings import Settings
    from tests.support.obligations import all_active_policy

    now = datetime(2026, 12, 2, 6, tzinfo=UTC)
    settings = Settings(data_dir=data_dir, portal_port=port, _env_file=None)  # type: ignore[call-arg]
    app = bootstrap(settings)
    prepare_database(app, now=now)
    contacts = "ags,name,email,role\n" + "".join(
        f"{k.ags},IM {k.name},im{k.ags}@kommune.example,integration_manager\n" for k in registry.reference_kommunen()
    )
    with session_scope(app.engine) as session:
        assert registry.import_contacts(session, contacts, now=now, actor="bench").ok
        open_cycle(session, policy=all_active_policy(2026), now=now, actor="bench")
        sweep_day(session, settings, today=date(2026, 12, 2), now=now)
    with session_scope(app.engine) as session:
        bodies = session.exec(select(OutboxMessage.text_body).where(col(OutboxMessage.kind) == "deliverable_reminder"))
        return [m.group(0) for body in bodies if (m := LINK.search(body))]


def start_portal(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIM_", "PREFECT_"))}
    env.update({"KIM_DATA_DIR": str(data_dir), "KIM_PORTAL_COOKIE_SECURE": "false", "KIM_SEND_ENABLED": "false",
                "KIM_PORTAL_RATE_LIMIT_ATTEMPTS": "1000", "KIM_PORTAL_WORKERS": str(workers)})  # fmt: skip
    process = subprocess.Popen([KIM, "portal", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 120  # worker processes start slowly on a busy machine
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("kim portal did not start")


def signed_in(base: str, link: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.get(link)
    assert response.status_code == 303, response.status_code
    return client


class PageClient:
    """One browser's keep-alive connection with its session cookie (``http.client``: the client's own cost stays
    small next to the portal's, on the same machine)."""

    def __init__(self, client: httpx.Client) -> None:
        self.connection = http.client.HTTPConnection(client.base_url.host, client.base_url.port, timeout=30)
        self.cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())

    def get(self, path: str) -> int:
        self.connection.request("GET", path, headers={"Cookie": self.cookie})
        response = self.connection.getresponse()
        response.read()
        return response.status


def timed_get(client: PageClient) -> float:
    started = time.perf_counter()
    assert client.get("/kommune") == 200
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def page_latency(clients: list[PageClient], requests: int) -> tuple[float, float, float]:
    for client in clients:
        timed_get(client)
    per_client = max(1, requests // len(clients))
    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        runs = list(pool.map(lambda c: [timed_get(c) for _ in range(per_client)], clients))
    wall = time.perf_counter() - started
    p50, p95 = percentiles([s for run in runs for s in run])
    return p50, p95, wall


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def multipart(csrf: str, size: int, boundary: str = "kimbenchboundary") -> Iterator[bytes]:
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
           f'--{boundary}\r\nContent-Disposition: form-data; name="datei"; filename="bericht.pdf"\r\n'
           "Content-Type: application/pdf\r\n\r\n").encode()  # fmt: skip
    yield b"%PDF-1.7\n"
    chunk, left = b"0" * (1024 * 1024), size - 9 - 6
    while left > 0:
        yield chunk[: min(len(chunk), left)]
        left -= len(chunk)
    yield b"%%EOF\n" + f"\r\n--{boundary}--\r\n".encode()


def upload(client: httpx.Client, pid: int, size: int) -> tuple[float, float]:
    client.get("/kommune")
    csrf = client.cookies["kim_csrf"]
    before = status_kb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    started = time.perf_counter()
    response = client.post("/kommune/jahresbericht", content=multipart(csrf, size),
                           headers={"Content-Type": "multipart/form-data; boundary=kimbenchboundary"})  # fmt: skip
    elapsed = time.perf_counter() - started
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return elapsed, (status_kb(pid, "VmHWM") - before) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--upload-mb", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="KIM_PORTAL_WORKERS of the portal")
    args = parser.parse_args()
    from kim_workflow.email.sink import free_port

    with tempfile.TemporaryDirectory(prefix="kim-bench-portal-") as folder:
        port = free_port()
        links = prepare(Path(folder) / "data", port)
        process = start_portal(Path(folder) / "data", port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            one = page_latency([PageClient(signed_in(base, links[0]))], args.requests)
            twenty = page_latency([PageClient(signed_in(base, link)) for link in links[1:21]], args.requests)
            seconds, growth = upload(signed_in(base, links[21]), process.pid, args.upload_mb * 1024 * 1024)
        finally:
            process.terminate()
            process.wait(timeout=20)
    verdict = {True: "met", False: "MISSED"}
    print(f"{'measure':<34} {'value':>12}  target")
    print(f"{'GET /kommune, 1 client, p50/p95':<34} {one[0]:>5.1f}/{one[1]:>5.1f} ms  "
          f"({args.requests} requests, {one[2]:.1f} s)")  # fmt: skip
    print(f"{'GET /kommune, 20 clients, p50/p95':<34} {twenty[0]:>5.1f}/{twenty[1]:>5.1f} ms  p95 <= 100 ms: "
          f"{verdict[twenty[1] <= 100]} ({args.requests} requests, {twenty[2]:.1f} s)")  # fmt: skip
    print(f"{f'upload {args.upload_mb} MB':<34} {seconds:>10.2f} s  <= 2 s: {verdict[seconds <= 2]}")
    print(f"{'portal RSS growth during upload':<34} {growth:>9.1f} MB  < 30 MB: {verdict[growth < 30]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
