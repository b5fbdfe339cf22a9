"""Loading a year's policy: TOML files the ministry can change without a release.

Lookup, later files overriding earlier ones table by table: the shipped ``default.toml``, a shipped
``<year>.toml``, then ``default.toml`` and ``<year>.toml`` in the policy folder of the data directory.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kim_workflow.core.funding import FundingRules, parse_funding_rules
from kim_workflow.core.policy import PolicyError, YearPolicy, parse_policy
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; lists and scalars of ``override`` replace those of ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


Source = tuple[str, Mapping[str, Any]]
"""A policy file's name as shown to people, and its TOML document."""


def _shipped(name: str) -> Source:
    resource = resources.files("kim_workflow.data").joinpath("policies", name)
    label = f"{name} (mitgeliefert)"
    if not resource.is_file():
        return label, {}
    try:
        return label, tomllib.loads(resource.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{label}: kein gültiges TOML ({exc})") from None


def _local(path: Path) -> Source:
    if not path.is_file():
        return str(path), {}
    try:
        return str(path), tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: kein gültiges TOML ({exc})") from None


def policy_sources(year: int, policy_dir: Path | None) -> list[Source]:
    """The files of ``year``'s policy in the order they apply, later ones overriding earlier ones."""
    sources = [_shipped("default.toml"), _shipped(f"{year}.toml")]
    if policy_dir is not None:
        sources += [_local(policy_dir / "default.toml"), _local(policy_dir / f"{year}.toml")]
    return sources


def policy_document(year: int, policy_dir: Path | None) -> dict[str, Any]:
    return _merged(policy_sources(year, policy_dir))


def _merged(sources: list[Source]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _, data in sources:
        document = merge(document, data)
    return document


def load_policy(year: int, policy_dir: Path | None = None) -> YearPolicy:
    """The effective policy of ``year``, its ``[funding]`` rules checked too; raises ``PolicyError`` naming the file.

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
    sources = policy_sources(year, policy_dir)
    try:
        policy = parse_policy(year, _merged(sources))
        load_funding_rules(policy)
    except PolicyError as exc:
        raise exc.in_file(origin(sources, exc)) from None
    return policy


def origin(sources: list[Source], error: PolicyError) -> str:
    """The file that set the value ``error`` is about: the last one holding its section and key."""
    section, key = error.section, re.split(r"[.\[]", error.key or "", maxsplit=1)[0]
    holding = [(name, data[section]) for name, data in sources if section and isinstance(data.get(section), Mapping)]
    if key:
        holding = [(name, table) for name, table in holding if key in table] or holding
    else:  # a problem of the section as a whole (unknown key, two values that disagree): the file naming one
        named = [(name, table) for name, table in holding if any(re.search(rf"\b{re.escape(k)}\b", error.detail)
                                                                  for k in table)]  # fmt: skip
        holding = named or holding
    if holding:
        return holding[-1][0]
    files = [name for name, data in sources if data]
    return files[-1] if files else sources[0][0]


def check_policy_files(policy_dir: Path | None, this_year: int) -> list[int]:
    """Load the policy of this and next year and of every ``<year>.toml`` in ``policy_dir``; return the years.

    For ``kim up``: a broken policy file is refused at start-up (``PolicyError``), not in the first flow run.
    """
    years = {this_year, this_year + 1}
    if policy_dir is not None and policy_dir.is_dir():
        stems = (path.stem for path in policy_dir.glob("*.toml"))
        years |= {int(stem) for stem in stems if stem.isdigit() and YEAR_MIN <= int(stem) <= YEAR_MAX}
    for year in sorted(years):
        load_policy(year, policy_dir)
    return sorted(years)


@lru_cache(maxsize=64)
def load_funding_rules(policy: YearPolicy) -> FundingRules:
    """The ``[funding]`` rules of ``policy`` (parsed once per policy)."""
    return parse_funding_rules(policy.funding)
