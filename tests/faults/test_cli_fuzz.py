"""Fuzz of every ``kim`` command's arguments and input files: exit code 0 or 2 with a German message, never a
traceback, never an unexpected error (exit code 1 only with its one German line and the log file).

The bulk runs in-process through the Typer app (the same :class:`KimGroup` handler as the ``kim`` script) on one
seeded database per module; ``test_cli_subprocess_fuzz`` runs a smaller sample as real ``kim`` processes.
``KIM_FUZZ_EXAMPLES`` sets the examples per command (CI: 70, about 2,200 cases; ``make fuzz``: many more).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from kim_workflow.cli import app
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.policies import load_policy
from tests.faults.cli_grammar import MAINZ, arguments, commands
from tests.support.databases import copy_sqlite, is_postgres, truncate_all

EXAMPLES = int(os.environ.get("KIM_FUZZ_EXAMPLES", "70"))
SLOW = {"seed": 8, "emails preview": 6, "db current": 10, "db upgrade": 8, "contacts import": EXAMPLES // 2}
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
ENGLISH = ("Error", "Invalid value", "Missing option", "Missing argument", "No such", "Try '", "Got unexpected")
runner = CliRunner()


@pytest.fixture(scope="module")
def cli_env(_database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """One seeded database (36 Kommunen, contacts, year 2026 open) for the module; sending is switched off."""
    folder = tmp_path_factory.mktemp("cli-fuzz")
    if is_postgres(_database_template):
        url = _database_template
        engine = make_engine(url)
        truncate_all(engine)
    else:
        url = copy_sqlite(Path(_database_template), folder / "kim.db")
        engine = make_engine(url)
    contacts = (f"ags,name,email,role\n{MAINZ},IM Mainz,im@mainz.example,integration_manager\n"
                ",DBKI,dbki@dbki.example,dbki\n,Referat,referat@mffki.example,ministry\n")  # fmt: skip
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(session, contacts, now=NOW, actor="t")
        open_cycle(session, policy=load_policy(2026), now=NOW, actor="t")
    engine.dispose()
    built = get_command(app)  # once: typer's runner would rebuild the whole command tree on every call
    patch = pytest.MonkeyPatch()
    patch.setattr(
        typer.testing, "_get_command", lambda typer_app: built if typer_app is app else get_command(typer_app)
    )
    env = {"KIM_DATABASE_URL": url, "KIM_DATA_DIR": str(folder / "data"), "KIM_SEND_ENABLED": "false"}
    yield env, folder
    patch.undo()


def check(code: int, output: str, args: list[str]) -> None:
    """The contract of every command with every input."""
    assert "Traceback" not in output, (args, output)
    assert code in (0, 2) or (code == 1 and "Einzelheiten in" not in output), (args, code, output)
    assert "Unerwarteter Fehler" not in output, (args, output)
    if code != 0:  # a message, and not click's English one
        assert output.strip() and not any(marker in output for marker in ENGLISH), (args, output)


@pytest.mark.parametrize("name", sorted(commands(Path("."))))
def test_cli_fuzz(cli_env: tuple[dict[str, str], Path], name: str) -> None:
    env, folder = cli_env
    spec = commands(folder)[name]

    @settings(max_examples=SLOW.get(name, EXAMPLES), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(args=arguments(name, spec))
    def run(args: list[str]) -> None:
        result = runner.invoke(app, args, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        check(result.exit_code, result.output, args)

    run()


SUBPROCESS_COMMANDS = ["submission record", "deadline extend", "status", "sweep", "meeting add", "outbox resend",
                       "application submit", "meeting cancel"]  # fmt: skip


@pytest.mark.parametrize("name", SUBPROCESS_COMMANDS)
def test_cli_subprocess_fuzz(cli_env: tuple[dict[str, str], Path], name: str) -> None:
    """A few real ``kim`` processes per command: what the in-process fuzz checks holds for the installed script."""
    env, folder = cli_env
    kim = Path(sys.executable).with_name("kim")

    @settings(
        max_examples=max(3, EXAMPLES // 20), deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(args=arguments(name, commands(folder)[name]).filter(lambda a: all("\x00" not in w for w in a)))
    def run(args: list[str]) -> None:
        done = subprocess.run([str(kim), *args], capture_output=True, text=True, env={**os.environ, **env},
                              timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
        check(done.returncode, done.stdout + done.stderr, args)

    run()


@given(st.just(None))
@settings(max_examples=1)
def test_grammar_covers_every_command(_: None) -> None:
    top = set(app.registered_commands and [c.name or c.callback.__name__ for c in app.registered_commands])  # type: ignore[union-attr]
    groups = {f"{g.name} {c.name}" for g in app.registered_groups for c in g.typer_instance.registered_commands}  # type: ignore[union-attr]
    assert top | groups <= set(commands(Path("."))), (top | groups) - set(commands(Path(".")))
