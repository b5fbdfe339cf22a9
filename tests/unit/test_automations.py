"""kim's Prefect automations: what they match (only kim deploy's deployments), when they fire, what they do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from kim_workflow.orchestration.automations import automations, plan
from kim_workflow.orchestration.production import worker_environment
from kim_workflow.settings import Settings

IDS = {"daily-sweep": uuid4(), "dispatch-outbox": uuid4(), "operator-alert": uuid4()}


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, _env_file=None, **values)  # type: ignore[call-arg, arg-type]


def related_ids(trigger: object) -> set[str]:
    return set(trigger.match_related.root["prefect.resource.id"])  # type: ignore[attr-defined]


def ref(i: UUID) -> str:
    return f"prefect.deployment.{i}"


@pytest.mark.parametrize(
    ("heartbeat", "crashed_after"), [(30, 75), (60, 135), (180, 375)]
)  # fmt: skip
def test_a_run_is_crashed_after_two_missed_heartbeats(tmp_path: Path, heartbeat: int, crashed_after: int) -> None:
    assert plan(settings(tmp_path, flow_heartbeat_seconds=heartbeat)).crashed_after == timedelta(seconds=crashed_after)


def test_the_heartbeat_below_prefects_minimum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flow_heartbeat_seconds"):
        settings(tmp_path, flow_heartbeat_seconds=29)


def test_the_five_automations(tmp_path: Path) -> None:
    found = {a.name: a for a in automations(IDS, settings(tmp_path, missed_sweep_alert_seconds=20, crash_reruns=2))}
    zombie = found["kim: Absturz erkennen (Heartbeat)"].trigger
    assert zombie.posture == "Proactive" and zombie.after == {"prefect.flow-run.heartbeat", "prefect.flow-run.Running"}  # type: ignore[union-attr]
    assert related_ids(zombie) == {ref(i) for i in IDS.values()}
    stuck = found["kim: hängenden Start erkennen"].trigger
    assert stuck.after == {"prefect.flow-run.Pending"} and "prefect.flow-run.Running" in stuck.expect  # type: ignore[union-attr]
    assert stuck.within == timedelta(seconds=600)  # type: ignore[union-attr]
    rerun = found["kim: abgestürzten Lauf neu starten"]
    assert rerun.trigger.match.root["prefect.run-count"] == ["0", "1", "2"]  # type: ignore[union-attr]
    assert rerun.actions[0].state == "SCHEDULED"  # type: ignore[union-attr]
    failed = found["kim: Warnung: Lauf fehlgeschlagen oder abgestürzt"]
    assert ref(IDS["operator-alert"]) not in related_ids(failed.trigger)  # an alert run never alerts about itself
    assert failed.actions[0].parameters == {
        "incident": "Lauf fehlgeschlagen oder abgestürzt",
        "flow_run": "{{ event.resource.id }}",
    }  # type: ignore[union-attr]
    missed = found["kim: Warnung: daily-sweep ausgeblieben"]
    assert missed.trigger.within == timedelta(seconds=20)  # type: ignore[union-attr]
    assert related_ids(missed.trigger) == {ref(IDS["daily-sweep"])}
    assert missed.actions[0].deployment_id == IDS["operator-alert"]  # type: ignore[union-attr]
    assert missed.actions[0].parameters == {"incident": "Tagesrunde ausgeblieben"}  # type: ignore[union-attr]


def test_the_worker_environment_turns_heartbeats_and_the_dispatch_limit_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "180")  # kim deploy's automation waits for ours
    monkeypatch.delenv("KIM_DISPATCH_CONCURRENCY_LIMIT", raising=False)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:1/api"}):
        environment = worker_environment(settings(tmp_path, flow_heartbeat_seconds=45))
    assert environment["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "45"
    assert environment["KIM_DISPATCH_CONCURRENCY_LIMIT"] == "kim-dispatch"
