"""The built wheel carries the email templates and the policy data: installed elsewhere, every kind renders.

Builds the wheel with uv, installs it (without dependencies) into a fresh venv that borrows the test venv's
site-packages through a ``.pth`` file, and renders every message kind's sample from outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kim_workflow.email.kinds import MessageKind

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())

SCRIPT = """
import sys
from pathlib import Path
import kim_workflow
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.render import Renderer
from kim_workflow.email.specs import SPECS
from kim_workflow.services.policies import load_policy

venv = Path(sys.argv[1]).resolve()
assert Path(kim_workflow.__file__).resolve().is_relative_to(venv), kim_workflow.__file__
renderer = Renderer()
assert renderer.templates_dir.is_relative_to(venv), renderer.templates_dir
for kind in MessageKind:
    email = renderer.render(kind, SPECS[kind].sample)
    assert email.subject and "</html>" in email.html and email.text, kind
    print(kind.value, email.subject, sep="\\t")
print("policy", load_policy(2026).deadline().isoformat(), sep="\\t")
from kim_workflow.services.questionnaires import load_questionnaire
print("questionnaire", load_questionnaire(2026).version, sep="\\t")
"""


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found is not None, "uv is missing: the Makefile installs it into .venv (make .venv/.installed-…)"
    return found


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _build_wheel(uv: str, out: Path) -> Path:
    """Build from a clean copy of the sources: setuptools would reuse a stale ``build/`` in the checkout."""
    source = out.parent / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "kim_workflow", source / "kim_workflow", ignore=shutil.ignore_patterns("__pycache__"))
    built = _run(uv, "build", "--wheel", "--offline", "-o", out, source, cwd=source)
    if built.returncode != 0:  # the build backend is not in uv's cache yet: fetch it from PyPI once
        built = _run(uv, "build", "--wheel", "-o", out, source, cwd=source)
    assert built.returncode == 0, built.stderr
    [wheel] = out.glob("kim_workflow-*.whl")
    return wheel


@pytest.mark.timeout(180)
def test_the_wheel_renders_every_kind_from_a_fresh_venv(tmp_path: Path) -> None:
    uv = _uv()
    wheel = _build_wheel(uv, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    templates = {Path(n).name for n in names if n.startswith("kim_workflow/templates/emails/")}
    assert {f"{kind.value}{suffix}" for kind in MessageKind for suffix in (".subject.txt", ".txt", ".html")} <= (
        templates
    )
    assert {"base.html", "base.txt", "_macros.html", "_macros.txt"} <= templates
    assert "kim_workflow/data/policies/default.toml" in names

    venv = tmp_path / "venv"
    created = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
    (Path(purelib.stdout.strip()) / "borrowed-dependencies.pth").write_text(f"{SITE_PACKAGES}\n", encoding="utf-8")
    installed = _run(uv, "pip", "install", "--offline", "--no-deps", "--python", python, wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    rendered = _run(python, "-I", "-c", SCRIPT, venv, cwd=outside)
    assert rendered.returncode == 0, rendered.stderr
    lines = dict(line.split("\t", 1) for line in rendered.stdout.splitlines())
    assert set(lines) == {kind.value for kind in MessageKind} | {"policy", "questionnaire"}
    assert lines["questionnaire"] == "2026-1"
    assert lines["policy"] == "2026-12-15"
