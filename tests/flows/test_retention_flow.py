"""The monthly retention deployment's flow: one coarse task, the same counts as the command, then nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.retention import retention
from kim_workflow.db.engine import make_engine
from kim_workflow.orchestration.results import RetentionSummary
from tests.integration.test_retention import seed


def test_retention_flow_applies_once_and_a_dry_run_changes_nothing(kim_flow_env: str, tmp_path: Path) -> None:
    engine = make_engine(kim_flow_env)
    seed(engine)
    folder = tmp_path / "data" / "uploads" / "2026" / "07111000"
    folder.mkdir(parents=True)
    (folder / "bericht.pdf").write_bytes(b"%PDF-1.4")
    expected = RetentionSummary(1, 2, 1, [2026])
    assert retention(today=date(2032, 1, 1), dry_run=True) == expected
    assert (folder / "bericht.pdf").is_file()
    assert retention(today=date(2032, 1, 1)) == expected
    assert not folder.exists()
    assert retention(today=date(2032, 1, 1)) == RetentionSummary(0, 0, 0, [])
    engine.dispose()
