"""Tests that run a year without applications: every active Kommune owes its deliverables (``all_active``).

Since issue #13 only Kommunen with an approved application owe annual report and questionnaire by default;
tests written for the earlier behaviour open their year with :func:`all_active_policy` (service calls) or
:func:`write_all_active` (the flows and the CLI read the policy folder of the data directory).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kim_workflow.core.obligations import ObligationBasis
from kim_workflow.core.policy import YearPolicy
from kim_workflow.services.policies import load_policy

ALL_ACTIVE_TOML = '# tests: a year without applications\n[report]\nobligations = "all_active"\n'


def all_active_policy(year: int, policy_dir: Path | None = None) -> YearPolicy:
    """``year``'s policy (shipped, or from ``policy_dir``) with ``[report] obligations = "all_active"``."""
    policy = load_policy(year, policy_dir)
    return replace(policy, report=replace(policy.report, obligations=ObligationBasis.ALL_ACTIVE))


def write_all_active(policy_dir: Path) -> Path:
    """A local ``default.toml`` in ``policy_dir`` that switches every year to ``all_active``.

    Year files (``<year>.toml``) a test writes there still apply on top of it, table by table.
    """
    policy_dir.mkdir(parents=True, exist_ok=True)
    path = policy_dir / "default.toml"
    path.write_text(ALL_ACTIVE_TOML, encoding="utf-8")
    return path
