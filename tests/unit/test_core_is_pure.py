"""The pure core must not depend on adapters, I/O or the clock."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import kim_workflow.core

CORE = Path(kim_workflow.core.__file__).parent
FORBIDDEN_MODULES = ("prefect", "sqlmodel", "sqlalchemy", "jinja2", "aiosmtplib", "aiosmtpd", "smtplib", "psycopg")
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time")}


def core_modules() -> list[str]:
    return sorted("kim_workflow.core" + ("" if p.stem == "__init__" else f".{p.stem}") for p in CORE.glob("*.py"))


def test_importing_the_core_loads_no_adapter_library() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {core_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout)
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN_MODULES]
    assert offenders == []


def test_core_source_imports_no_adapter_and_reads_no_clock() -> None:
    problems: list[str] = []
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            problems += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in CLOCK_CALLS
            ):
                problems.append(f"{path.name}:{node.lineno} reads the clock ({node.value.id}.{node.attr})")
    assert problems == []


def test_the_guard_would_catch_a_forbidden_import(tmp_path: Path) -> None:
    """The AST check is not vacuous: it flags a module that imports sqlalchemy."""
    bad = ast.parse("import sqlalchemy\nfrom datetime import datetime\nx = datetime.now()")
    imports = [a.name for n in ast.walk(bad) if isinstance(n, ast.Import) for a in n.names]
    clock = [
        (n.value.id, n.attr) for n in ast.walk(bad) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    ]
    assert "sqlalchemy" in imports and ("datetime", "now") in clock
    assert len(core_modules()) >= 4
