"""A whole simulated funding year (``kim simulate``, in-process) for 36 and 3,600 Kommunen.

    .venv/bin/python bench/year.py [--sizes 36 3600] [--seed 1] [--profile]

Each size runs in a fresh subprocess (so peak memories don't mix) with a temporary SQLite database (or
``KIM_DATABASE_URL``) and a counting SMTP sink in a process of its own. Printed per size: wall time, emails sent,
emails per second, peak RSS of the process (``ru_maxrss``; render worker processes not included) and the targets.
``--profile`` writes ``bench/year-<size>.prof`` (cProfile) and prints the 25 most expensive functions.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = {36: (30.0, None), 3600: (300.0, 500.0)}  # seconds, MB


def one(size: int, seed: int, profile: bool) -> dict[str, float]:
    """Run one size in this process and return its figures."""
    from kim_workflow.cli.simulate import fresh_database, run
    from kim_workflow.email.sink import CountingSink

    started = time.perf_counter()
    with fresh_database() as url, CountingSink() as sink:
        host, port = sink.host, sink.port
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(run, url, host, port, year=2026, kommunen=size, seed=seed)
            target = Path(__file__).with_name(f"year-{size}.prof")
            profiler.dump_stats(target)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        else:
            result = run(url, host, port, year=2026, kommunen=size, seed=seed)
        accepted = sink.accepted
    wall = time.perf_counter() - started
    return {
        "size": size, "wall_s": wall, "simulated_s": result.wall_seconds, "emails": result.emails,
        "sent": result.delivery["sent"], "accepted": accepted, "failed": result.delivery["failed"],
        "per_second": result.delivery["sent"] / wall, "peak_mb": peak_mb(),
    }  # fmt: skip


def peak_mb() -> float:
    """Peak resident memory of this process (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(figures: dict[str, float]) -> str:
    seconds, megabytes = TARGETS.get(int(figures["size"]), (None, None))
    checks = []
    if seconds is not None:
        checks.append(f"< {seconds:.0f} s: {'ok' if figures['wall_s'] < seconds else 'VERFEHLT'}")
    if megabytes is not None:
        checks.append(f"< {megabytes:.0f} MB: {'ok' if figures['peak_mb'] < megabytes else 'VERFEHLT'}")
    return ", ".join(checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 3600])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.seed, args.profile)))
        return
    print(f"{'Kommunen':>9} {'Wand s':>8} {'E-Mails':>8} {'gesendet':>9} {'Mails/s':>8} {'Spitze MB':>10}  Ziel")
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
        output = subprocess.run(command + (["--profile"] if args.profile else []), capture_output=True, text=True)
        if output.returncode:
            print(f"{size:>9} fehlgeschlagen:\n{output.stderr[-3000:]}")
            continue
        if args.profile:
            print(output.stderr[-6000:])
        f = json.loads(output.stdout.strip().splitlines()[-1])
        print(f"{size:>9} {f['wall_s']:>8.1f} {f['emails']:>8.0f} {f['sent']:>9.0f} {f['per_second']:>8.0f} "
              f"{f['peak_mb']:>10.0f}  {verdict(f)}")  # fmt: skip


if __name__ == "__main__":
    main()
