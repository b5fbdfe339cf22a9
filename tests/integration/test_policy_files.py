"""The ministry's policy files are read again after a change, without a restart (and parsed once otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kim_workflow.core.policy import PolicyError
from kim_workflow.services.policies import load_policy


def test_an_edited_added_or_removed_override_is_picked_up(tmp_path: Path) -> None:
    assert load_policy(2027, tmp_path).report.reminder_days_before == (42, 14, 3)
    override = tmp_path / "2027.toml"
    override.write_text("[report]\nreminder_days_before = [30, 7]\n", encoding="utf-8")
    assert load_policy(2027, tmp_path).report.reminder_days_before == (30, 7)
    assert load_policy(2027, tmp_path) is load_policy(2027, tmp_path)  # unchanged files: parsed once
    override.write_text("[report]\nreminder_days_before = [21]\n", encoding="utf-8")
    stat = override.stat()
    os.utime(override, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # even within one clock tick
    assert load_policy(2027, tmp_path).report.reminder_days_before == (21,)
    (tmp_path / "default.toml").write_text("[report]\nescalation_days_after = 10\n", encoding="utf-8")
    assert load_policy(2027, tmp_path).report.escalation_days_after == 10
    override.unlink()
    assert load_policy(2027, tmp_path).report.reminder_days_before == (42, 14, 3)


def test_a_broken_override_is_reported_every_time(tmp_path: Path) -> None:
    (tmp_path / "2027.toml").write_text("[report\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PolicyError, match="kein gültiges TOML"):
            load_policy(2027, tmp_path)
