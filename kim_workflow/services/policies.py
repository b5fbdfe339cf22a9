"""Loading a year's policy: TOML files the ministry can change without a release.

Lookup, later files overriding earlier ones table by table: the shipped ``default.toml``, a shipped
``<year>.toml``, then ``default.toml`` and ``<year>.toml`` in the policy folder of the data directory.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kim_workflow.core.funding import FundingRules, parse_funding_rules
from kim_workflow.core.policy import PolicyError, YearPolicy, parse_policy


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; lists and scalars of ``override`` replace those of ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _shipped(name: str) -> dict[str, Any]:
    resource = resources.files("kim_workflow.data").joinpath("policies", name)
    return tomllib.loads(resource.read_text(encoding="utf-8")) if resource.is_file() else {}


def _local(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: kein gültiges TOML ({exc})") from None


def policy_document(year: int, policy_dir: Path | None) -> dict[str, Any]:
    document = merge(_shipped("default.toml"), _shipped(f"{year}.toml"))
    if policy_dir is not None:
        document = merge(document, _local(policy_dir / "default.toml"))
        document = merge(document, _local(policy_dir / f"{year}.toml"))
    return document


def load_policy(year: int, policy_dir: Path | None = None) -> YearPolicy:
    """The effective policy of ``year``; raises ``PolicyError`` with the file problem spelled out.

    Parsed once per version of the ministry's files: an edited, added or removed override file (another
    modification time or size) is read again on the next call, without a restart.
    """
    files = () if policy_dir is None else (policy_dir / "default.toml", policy_dir / f"{year}.toml")
    return _parsed(year, policy_dir, tuple(_version(path) for path in files))


def _version(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=32)
def _parsed(year: int, policy_dir: Path | None, versions: tuple[tuple[int, int] | None, ...]) -> YearPolicy:
    return parse_policy(year, policy_document(year, policy_dir))


def load_funding_rules(policy: YearPolicy) -> FundingRules:
    return parse_funding_rules(policy.funding)
