"""Build served deployments from ``prefect.yaml`` so that the file stays the single source of truth."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml  # type: ignore[import-untyped]
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.flows import load_flow_from_entrypoint


@dataclass(frozen=True)
class DeploymentSpec:
    """One entry of ``deployments:`` in prefect.yaml, reduced to what ``serve`` needs."""

    name: str
    entrypoint: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)


def read_specs(prefect_yaml: Path) -> list[DeploymentSpec]:
    """Parse the deployments of a prefect.yaml file (no Prefect objects yet)."""
    document = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8")) or {}
    specs = []
    for entry in document.get("deployments") or []:
        specs.append(
            DeploymentSpec(
                name=entry["name"],
                entrypoint=entry["entrypoint"],
                description=entry.get("description") or "",
                tags=list(entry.get("tags") or []),
                parameters=dict(entry.get("parameters") or {}),
                schedules=list(entry.get("schedules") or []),
                triggers=list(entry.get("triggers") or []),
            )
        )
    return specs


def to_runner_deployment(spec: DeploymentSpec, project_root: Path) -> RunnerDeployment:
    """Load the flow from its entrypoint (relative to ``project_root``) and attach schedules and triggers."""
    path, _, function = spec.entrypoint.partition(":")
    flow: Any = load_flow_from_entrypoint(f"{project_root / path}:{function}")
    schedules = [
        CronSchedule(cron=s["cron"], timezone=s.get("timezone", "Europe/Berlin"))
        for s in spec.schedules
        if s.get("active", True)
    ]
    triggers = [DeploymentEventTrigger(**{k: v for k, v in t.items() if k != "type"}) for t in spec.triggers]
    deployment = flow.to_deployment(
        name=spec.name,
        description=spec.description or None,
        tags=spec.tags,
        parameters=spec.parameters,
        schedules=schedules,
        triggers=triggers,
        paused=False,
    )
    return cast(RunnerDeployment, deployment)


def load_deployments(project_root: Path) -> list[RunnerDeployment]:
    """Every deployment of ``project_root/prefect.yaml``, whatever the current directory is.

    The project root goes on ``sys.path`` so that each flow module is importable by its own name
    (``flows.meetings``), which Prefect needs to record where the flow lives.
    """
    if str(project_root) not in sys.path:
        sys.path.insert(0, str(project_root))
    return [to_runner_deployment(spec, project_root) for spec in read_specs(project_root / "prefect.yaml")]
