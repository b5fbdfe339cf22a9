"""Which markers a test gets from where it lives and the fixtures it uses (applied in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
# e2e: real ``kim up`` processes and a simulated season; faults: injected outages, subprocess and property fuzz;
# browser: Chromium driving a real portal (Playwright, axe-core)
SLOW_FOLDERS = ("e2e", "faults", "browser")


def markers_for(path: Path, fixturenames: Iterable[str], *, on_postgres: bool) -> list[str]:
    """``prefect``: uses the Prefect test harness; ``postgres``: uses the test database while it is PostgreSQL;
    ``slow``: lives in a folder of SLOW_FOLDERS. The fast lane (``make test-fast``) is ``-m "not prefect and not
    slow"``: the pure and database tests of tests/unit and tests/integration."""
    names = set(fixturenames)
    found = []
    if "prefect_harness" in names:
        found.append("prefect")
    if on_postgres and "database_url" in names:
        found.append("postgres")
    parts = path.resolve().relative_to(TESTS).parts if path.resolve().is_relative_to(TESTS) else ()
    if parts and parts[0] in SLOW_FOLDERS:
        found.append("slow")
    return found
