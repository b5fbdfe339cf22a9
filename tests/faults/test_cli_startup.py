"""``kim`` starts fast: commands that need no Prefect, mail stack or database do not import them (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kim_workflow.cli.common import ACTOR_MAX
from kim_workflow.db.limits import max_length
from kim_workflow.db.models import Decision, Deliverable, DomainEvent

SCRIPT = """
import json, sys
sys.argv = ["kim", *sys.argv[1:]]
from kim_workflow.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""
NEVER = {"prefect", "aiosmtplib", "aiosmtpd", "jinja2", "icalendar", "babel", "holidays", "httpx", "psycopg"}
DATABASE = {"sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_settings", "email_validator"}


def imported(*args: str, env: dict[str, str]) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_help_imports_neither_prefect_nor_the_database(tmp_path: Path) -> None:
    code, modules = imported("--help", env={**os.environ, "KIM_DATA_DIR": str(tmp_path)})
    assert code == 0
    assert not modules & (NEVER | DATABASE), modules & (NEVER | DATABASE)


def test_status_imports_the_database_but_not_prefect_or_the_mail_stack(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "KIM_DATA_DIR": str(tmp_path), "KIM_DATABASE_URL": database_url}
    code, modules = imported("status", "--year", "2026", env=env)
    assert code == 2  # no open funding year in the empty database: a German error, exit code 2
    assert "sqlmodel" in modules
    never = NEVER | {"alembic", "mako"}  # the schema check reads the migration files itself
    assert not modules & (never - {"psycopg"} if "postgresql" in database_url else never)


def test_the_cli_actor_limit_is_the_smallest_actor_column() -> None:
    columns = [(DomainEvent, "actor"), (Decision, "decided_by"), (Deliverable, "recorded_by")]
    assert min(max_length(model, column) for model, column in columns) == ACTOR_MAX


def test_the_fast_schema_check_agrees_with_alembic(database_url: str, tmp_path: Path) -> None:
    from kim_workflow.db.engine import make_engine
    from kim_workflow.db.migrate import head_revision
    from kim_workflow.db.schema_check import head_revisions, is_at_head

    assert head_revisions() == {head_revision()}
    migrated, empty = make_engine(database_url), make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert is_at_head(migrated) and not is_at_head(empty)
    migrated.dispose()
    empty.dispose()
