"""The layers of docs/architecture.md: every import points down, never up or sideways into an entry point."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# layer -> the layers it may import (besides itself); an entry point (flows, cli) is imported by no package layer
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "settings": {"core"},
    "db": {"core", "settings"},
    "email": {"core", "db", "settings"},
    "services": {"core", "db", "email", "settings"},
    "app": {"core", "db", "email", "services", "settings"},
    "portal": {"core", "db", "email", "services", "settings", "app"},
    "orchestration": {"core", "db", "email", "services", "settings", "app", "portal"},
    "simulation": {"core", "db", "email", "services", "settings", "app", "orchestration"},
    "flows": {"core", "services", "settings", "orchestration"},
    "cli": {"core", "db", "email", "services", "settings", "app", "orchestration", "simulation", "portal"},
}


def layer_of(path: Path) -> str:
    relative = path.relative_to(ROOT).parts
    if relative[0] == "flows":
        return "flows"
    return relative[1].removesuffix(".py")


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every kim_workflow/flows import in ``path``, also those inside functions."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "flows":
                found.add(("flows", node.lineno))
            elif parts[0] == "kim_workflow":
                found.add((parts[1] if len(parts) > 1 else "package", node.lineno))
    return found


def sources() -> list[Path]:
    return sorted([*(ROOT / "kim_workflow").rglob("*.py"), *(ROOT / "flows").glob("*.py")])


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {layer_of(p) for p in sources() if layer_of(p) != "__init__"} - set(ALLOWED) - {"data"}
    assert unknown == set()


def test_imports_only_point_down_the_layers() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line} ({layer}) imports {target}"
        for path in sources()
        if (layer := layer_of(path)) in ALLOWED
        for target, line in imported_layers(path)
        if target not in (layer, "package") and target not in ALLOWED[layer]  # the package root: its version only
    ]
    assert problems == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from kim_workflow.orchestration import views\n", encoding="utf-8")
    assert imported_layers(module) == {("orchestration", 2)}
