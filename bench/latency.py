"""Latency as a user meets it (issue #11): CLI start-up, and email after an action under a real ``kim up``.

    .venv/bin/python bench/latency.py [--runs 5]

(1) ``kim --help`` and ``kim status --year 2026`` (on a prepared SQLite data folder: seed, contacts, cycle 2026)
    against ``python -c "import sqlmodel"``, interleaved, one warm-up round not counted; medians and ratios.
(2) ``kim up`` as a child process (fresh data folder, no KIM_/PREFECT_ variables, no SMTP settings: mail goes to
    the local Maildir ``<data>/mail/new``), for ``runs`` different Kommunen each:
    a. ``kim submission record`` returning -> its confirmation file in the Maildir;
    b. the decision form submitted (``POST /flow_runs/{id}/resume``) -> the decision email in the Maildir
       (also shown: ``kim application submit`` returning -> its receipt; 0.00 = there before the command returned).
Actions under ``kim up`` are ``--pause`` seconds apart (default 3), so each meets a ``kim up`` that has finished
reacting to the one before. Prints a table with medians, maxima, targets and pass/fail, then every sample.
Missed targets do not change the exit code (0); it is 1 only if the benchmark itself could not run (a preparing
command failed, ``kim up`` did not start).
"""

from __future__ import annotations

import argparse
import email
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kim_workflow.services.registry import reference_kommunen
from tests.support.kim_up import KIM, KimUp, wait_for
from tests.support.obligations import write_all_active

YEAR = "2026"
PYTHON = sys.executable
RESUME = {"outcome": "Bewilligen", "granted_personnel_eur": "45.000", "granted_material_eur": "12.000",
          "decided_by": "Bench"}  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """One measured quantity: samples in seconds, a target (seconds or a ratio) and how to read it."""

    name: str
    samples: list[float]
    target: float | None = None
    ratio_of: Figure | None = None  # compare the median with target x this figure's median

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    def row(self) -> str:
        if not self.samples:
            return f"| {self.name} | n/a | n/a | {self._target()} | **not measured** |"
        worst, median = max(self.samples), f"{self.median:.2f} s"
        if self.target is None:
            verdict = ""
        elif self.ratio_of is not None:
            ratio = self.median / self.ratio_of.median
            median, verdict = f"{median} ({ratio:.2f}x)", "pass" if ratio <= self.target else "FAIL"
        else:
            verdict = ("pass" if self.median <= self.target else "FAIL") + (
                " (max over)" if worst > self.target else ""
            )
        return f"| {self.name} | {median} | {worst:.2f} s | {self._target()} | {verdict} |"

    def _target(self) -> str:
        if self.target is None:
            return ""
        return f"<= {self.target:g}x baseline" if self.ratio_of is not None else f"<= {self.target:g} s"


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KIM_"))}
    return {**env, "KIM_DATA_DIR": str(data_dir)}


def must(done: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def contacts_csv(folder: Path) -> Path:
    path = folder / "contacts.csv"
    rows = [f"{k.ags},IM {k.name},{address(k.ags)},integration_manager\n" for k in reference_kommunen()]
    path.write_text("ags,name,email,role\n" + "".join(rows), encoding="utf-8")
    return path


def address(ags: str) -> str:
    return f"im{ags}@kommune.example"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    must(subprocess.run(command, env=env, capture_output=True, text=True, check=False), " ".join(command))
    return time.perf_counter() - started


def startup(runs: int, folder: Path) -> list[Figure]:
    """(1): baseline, --help and status interleaved on a prepared data folder, one warm-up round first."""
    write_all_active(folder / "cli-data" / "policies")  # every Kommune owes its reports, as before #13
    env = clean_env(folder / "cli-data")
    for args in (["seed"], ["contacts", "import", str(contacts_csv(folder)), "--mode", "merge", "--apply"],
                 ["cycle", "open", "--year", YEAR]):  # fmt: skip
        must(subprocess.run([KIM, *args], env=env, capture_output=True, text=True, check=False), f"kim {args[0]}")
    commands = {
        "python -c 'import sqlmodel'": [PYTHON, "-c", "import sqlmodel"],
        "kim --help": [KIM, "--help"],
        f"kim status --year {YEAR}": [KIM, "status", "--year", YEAR],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, command in commands.items():
            seconds = timed(command, env)
            if round_:
                samples[name].append(seconds)
    baseline, help_, status = (Figure(name, values) for name, values in samples.items())
    help_, status = Figure(help_.name, help_.samples, 1.5, baseline), Figure(status.name, status.samples, 2.0, baseline)
    return [baseline, help_, status]


class Mailbox:
    """The Maildir of ``kim up``: each file parsed once; a file matched once is not matched again."""

    def __init__(self, kim: KimUp) -> None:
        self.folder, self.parsed, self.taken = kim.maildir, dict[str, EmailMessage](), set[str]()

    def take_existing(self) -> None:
        self.taken.update(p.name for p in self.folder.glob("*"))

    def arrived(self, ags: str, word: str) -> Callable[[], EmailMessage | None]:
        """A condition for ``wait_for``: the first new email to the Kommune's address with ``word`` in its subject."""

        def found() -> EmailMessage | None:
            for path in sorted(self.folder.glob("*")):
                if path.name in self.taken:
                    continue
                message = self.parsed.get(path.name) or self._parse(path)
                if address(ags) in str(message["To"]) and word in str(message["Subject"]):
                    self.taken.add(path.name)
                    return message
            return None

        return found

    def _parse(self, path: Path) -> EmailMessage:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.parsed[path.name] = message
        return message


def confirmations(kim: KimUp, ags_list: list[str], mailbox: Mailbox, pause: float) -> list[Figure]:
    """(2a): ``kim submission record`` returning -> the confirmation file; also the command's duration and both."""
    cli, mail = [], []
    for ags in ags_list:
        time.sleep(pause)  # one action on a kim up that has finished reacting to the previous one
        started = time.perf_counter()
        must(kim.kim("submission", "record", "--ags", ags, "--year", YEAR, "--kind", "annual_report",
                     "--received-on", "2026-11-30"), "kim submission record")  # fmt: skip
        returned = time.perf_counter()
        try:
            wait_for(mailbox.arrived(ags, "Jahresbericht"), "the confirmation", 30, every=0.05)
        except AssertionError as exc:
            print(f"  {ags}: {exc}", file=sys.stderr)
            continue
        cli.append(returned - started)
        mail.append(time.perf_counter() - returned)
    return [
        Figure("kim submission record (the command)", cli),
        Figure("record returned -> confirmation", mail, 3.0),
        Figure("record started -> confirmation", [c + m for c, m in zip(cli, mail, strict=True)]),
    ]


def waiting_form(kim: KimUp, application_id: int) -> dict[str, Any] | None:
    """The application's decision run once it waits suspended with its form (as tests/e2e finds it)."""
    for run in kim.flow_runs("application-decision"):
        state, details = run["state"], run["state"]["state_details"]
        if run["parameters"].get("application_id") != application_id or state["type"] != "PAUSED":
            continue
        if details["pause_reschedule"] and kim.has_input(run["id"], f"suspended-{details['pause_key']}-schema"):
            return dict(run)
    return None


def decisions(kim: KimUp, ags_list: list[str], folder: Path, mailbox: Mailbox, pause: float) -> list[Figure]:
    """(2b): one application per Kommune (its receipt timed too), every form awaited, then each resumed and timed."""
    ids: dict[str, int] = {}
    receipts = []
    for ags in ags_list:
        path = folder / f"application-{ags}.json"
        path.write_text(json.dumps({
            "ags": ags, "year": int(YEAR), "staff": [{"name": "Erika Muster", "fte": "1.0"}],
            "personnel_costs_eur": "60000", "material_costs_eur": "20000", "overhead_costs_eur": "0",
            "position_in_administration": True,
        }), encoding="utf-8")  # fmt: skip
        submitted = must(kim.kim("application", "submit", str(path), "--json"), "kim application submit")
        returned = time.perf_counter()
        ids[ags] = int(json.loads(submitted.stdout)["application_id"])
        wait_for(mailbox.arrived(ags, "Förderantrag"), "the receipt", 60, every=0.05)
        receipts.append(time.perf_counter() - returned)
    forms: dict[str, dict[str, Any]] = {}
    for ags, number in ids.items():
        forms[ags] = wait_for(partial(waiting_form, kim, number), f"the decision form of {number}", 240, every=1)
    samples = []
    for ags, run in forms.items():
        time.sleep(pause)
        started = time.perf_counter()
        answer = kim.api(f"/flow_runs/{run['id']}/resume", {"run_input": RESUME})
        if answer["status"] != "ACCEPT":
            print(f"  {ags}: resume answered {answer}", file=sys.stderr)
            continue
        try:
            wait_for(mailbox.arrived(ags, "Bewilligung"), "the decision email", 60, every=0.05)
        except AssertionError as exc:
            print(f"  {ags}: {exc}", file=sys.stderr)
            continue
        samples.append(time.perf_counter() - started)
    return [Figure("application submit returned -> receipt", receipts),
            Figure("decision form submitted -> decision email", samples, 5.0)]  # fmt: skip


def under_kim_up(runs: int, folder: Path, pause: float) -> list[Figure]:
    write_all_active(folder / "up-data" / "policies")
    kim = KimUp(folder / "up-data", folder / "kim-up.log")
    started = time.perf_counter()
    try:
        kim.start()
        print(f"kim up serving after {time.perf_counter() - started:.1f} s", file=sys.stderr)
        must(kim.kim("contacts", "import", str(contacts_csv(folder)), "--mode", "merge", "--apply"), "contacts")
        must(kim.kim("cycle", "open", "--year", YEAR), "kim cycle open")
        time.sleep(2)  # let the mails and views of the import settle, so they do not count against the first run
        mailbox = Mailbox(kim)
        mailbox.take_existing()
        ags_list = [k.ags for k in reference_kommunen()][:runs]
        return [*confirmations(kim, ags_list, mailbox, pause), *decisions(kim, ags_list, folder, mailbox, pause)]
    except (AssertionError, OSError) as exc:
        tail = kim.log()[-4000:]
        raise SystemExit(f"kim up benchmark could not run: {exc}\n--- kim up log (tail) ---\n{tail}") from exc
    finally:
        if kim.process is not None:
            kim.stop(signal.SIGINT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (different Kommunen under kim up)")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between two actions under kim up")
    args = parser.parse_args()
    runs = min(max(args.runs, 1), len(reference_kommunen()))
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start: {load} ({os.cpu_count()} CPUs); {runs} runs each", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="kim-latency-") as name:
        folder = Path(name)
        figures = startup(runs, folder)
        figures += under_kim_up(runs, folder, args.pause)
    print(f"\nmedians of {runs} runs; load average at start {load}, at end "
          + " / ".join(f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    print("| what | median | max | target | verdict |\n|---|---:|---:|---|---|")
    for figure in figures:
        print(figure.row())
    print("\nsamples (s):")
    for figure in figures:
        print(f"  {figure.name}: " + ", ".join(f"{x:.2f}" for x in figure.samples))


if __name__ == "__main__":
    main()
