"""The Prefect automations and concurrency limits ``kim deploy`` keeps in place on the production server.

* **Crash detection**: a flow run of a kim deployment that stops sending heartbeats (``PREFECT_FLOWS_HEARTBEAT_
  FREQUENCY``, set by ``kim worker``) is marked Crashed (Prefect's "zombie flow" recipe; the window also opens at
  *Running*, so a run killed before its first heartbeat is caught too); a run left *Pending* by a dead worker is
  marked Crashed after ``start_timeout_seconds``.
* **Re-run**: a crashed run is scheduled again (AwaitingRetry), at most ``crash_reruns`` times (the event's
  ``prefect.run-count`` label); the flows are idempotent, so the re-run sends nothing twice.
* **Alerts**: a run that failed or crashed, and no completed ``daily-sweep`` within ``missed_sweep_alert_seconds``
  of the last one (26 h: the 07:00 sweep's next day, 09:00), run the ``operator-alert`` deployment, which queues
  one email per incident.

Every trigger matches only the deployments registered by ``kim deploy`` (by id), so runs served by ``kim up``
(its own deployments) never set them off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from kim_workflow.core.alerts import Incident
from kim_workflow.settings import Settings

PREFIX = "kim: "
ALERT_DEPLOYMENT = "operator-alert"
SWEEP_DEPLOYMENT = "daily-sweep"
TERMINAL = ("Completed", "Failed", "Cancelled", "Crashed")


@dataclass(frozen=True)
class AutomationPlan:
    """Names and the numbers that shape them (what ``kim deploy`` prints and tests check)."""

    heartbeat_seconds: int
    crashed_after: timedelta
    start_timeout: timedelta
    missed_sweep_within: timedelta
    reruns: int


def plan(settings: Settings) -> AutomationPlan:
    heartbeat = settings.flow_heartbeat_seconds
    return AutomationPlan(
        heartbeat_seconds=heartbeat,
        crashed_after=timedelta(seconds=heartbeat * 2 + 15),  # one heartbeat may be late, two are not
        start_timeout=timedelta(seconds=settings.start_timeout_seconds),
        missed_sweep_within=timedelta(seconds=settings.missed_sweep_alert_seconds),
        reruns=settings.crash_reruns,
    )


def _related(deployment_ids: list[UUID]) -> dict[str, Any]:
    return {
        "prefect.resource.role": "deployment",
        "prefect.resource.id": [f"prefect.deployment.{i}" for i in deployment_ids],
    }


def automations(deployments: dict[str, UUID], settings: Settings) -> list[Any]:
    """The automations for the deployments ``{name: id}`` registered by ``kim deploy``."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState, RunDeployment
    from prefect.events.schemas.automations import EventTrigger, Posture

    from kim_workflow.orchestration.forms import INCIDENTS  # the deployment checks parameters against its form

    numbers = plan(settings)
    every = _related(list(deployments.values()))
    watched = _related([i for name, i in deployments.items() if name != ALERT_DEPLOYMENT])
    alert_id = deployments[ALERT_DEPLOYMENT]
    run_ids = {"prefect.resource.id": "prefect.flow-run.*"}
    found = [
        Automation(
            name=PREFIX + "Absturz erkennen (Heartbeat)",
            description="Ein Lauf ohne Heartbeat gilt als abgestürzt (Crashed).",
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},  # killed before its 1st beat
                expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in TERMINAL)},
                match=run_ids,
                match_related=every,
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=numbers.crashed_after,
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.CRASHED, message="Kein Heartbeat mehr: Worker oder Rechner ausgefallen."
                )
            ],
        ),
        Automation(
            name=PREFIX + "hängenden Start erkennen",
            description="Ein Lauf, der nach Pending nie startet (Worker ausgefallen), gilt als abgestürzt.",
            trigger=EventTrigger(
                after={"prefect.flow-run.Pending"},
                expect={"prefect.flow-run.Running", *(f"prefect.flow-run.{s}" for s in TERMINAL)},
                match=run_ids,
                match_related=every,
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=numbers.start_timeout,
            ),
            actions=[
                ChangeFlowRunState(state=StateType.CRASHED, message="Nicht gestartet: Worker oder Rechner ausgefallen.")
            ],
        ),
        Automation(
            name=PREFIX + "abgestürzten Lauf neu starten",
            description=f"Ein abgestürzter Lauf wird erneut eingeplant (höchstens {numbers.reruns}-mal).",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Crashed"},
                match={**run_ids, "prefect.run-count": [str(n) for n in range(numbers.reruns + 1)]},
                match_related=every,
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.SCHEDULED, name="AwaitingRetry", message="Nach Absturz erneut eingeplant."
                )
            ],
        ),
        Automation(
            name=PREFIX + "Warnung: Lauf fehlgeschlagen oder abgestürzt",
            description="Betriebswarnung per E-Mail (operator-alert), einmal je Lauf und Versuch.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                match=run_ids,
                match_related=watched,
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[
                RunDeployment(
                    source="selected",
                    deployment_id=alert_id,
                    parameters={
                        "incident": INCIDENTS.label(Incident.RUN_FAILED),
                        "flow_run": "{{ event.resource.id }}",
                    },
                )
            ],
        ),
    ]
    if SWEEP_DEPLOYMENT in deployments:
        found.append(
            Automation(
                name=PREFIX + "Warnung: daily-sweep ausgeblieben",
                description="Kein abgeschlossener daily-sweep innerhalb der Frist nach dem letzten (Standard 26 h).",
                trigger=EventTrigger(
                    after={"prefect.flow-run.Completed"}, expect={"prefect.flow-run.Completed"},
                    match=run_ids, match_related=_related([deployments[SWEEP_DEPLOYMENT]]),
                    posture=Posture.Proactive, threshold=1, within=numbers.missed_sweep_within,
                ),
                actions=[RunDeployment(
                    source="selected", deployment_id=alert_id,
                    parameters={"incident": INCIDENTS.label(Incident.MISSED_SWEEP)},  # the form's label
                )],
            )
        )  # fmt: skip
    return found


def ensure_automations(deployments: dict[str, UUID], settings: Settings) -> list[str]:
    """Create or update kim's automations by name (idempotent); drop duplicates and stale ``kim: `` ones."""
    from prefect.automations import AutomationCore
    from prefect.client.orchestration import get_client

    wanted = automations(deployments, settings)
    names = [a.name for a in wanted]
    with get_client(sync_client=True) as client:
        existing: dict[str, list[Any]] = {}
        for automation in client.read_automations():
            existing.setdefault(automation.name, []).append(automation)
        for name, found in existing.items():
            keep = 1 if name in names else 0
            if name.startswith(PREFIX):
                for extra in found[keep:]:
                    client.delete_automation(extra.id)
        for automation in wanted:
            core = AutomationCore(**automation.model_dump(exclude={"id", "owner_resource"}))  # the server refuses it
            if automation.name in existing:
                client.update_automation(existing[automation.name][0].id, core)
            else:
                client.create_automation(core)
    return names


def ensure_dispatch_limit(settings: Settings, name: str) -> None:
    """The global concurrency limit the dispatch step holds a slot of (created or its limit updated)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=settings.dispatch_slots)
            )
        else:
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=settings.dispatch_slots))
