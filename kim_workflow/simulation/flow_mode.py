"""``kim simulate --prefect``: the same simulated year, but each day's work runs through the Prefect flows.

The flows are loaded from the entrypoints of ``prefect.yaml`` (the code the deployments serve) and called
in-process on a simulated day: ``simulated_time`` moves only kim-workflow's clock, Prefect keeps real time. So every
flow run, task run and artifact (``kim-status-<year>`` …) appears in the Prefect UI as in a real year.

Daily, as the schedules of ``prefect.yaml`` would: ``application-window``, ``meeting-reminders``, ``daily-sweep``.
Admin actions through their manual flows: ``open-cycle``, ``meeting-series``, ``submit-application``,
``record-submission``, ``extend-deadline``, ``meeting-attendance``; ``meeting-notify`` per meeting, as its event
trigger would. Decisions are the exception: ``application-decision`` waits for a person's input in the UI, so the
simulation records them through the service that flow calls.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.app import simulated_time
from kim_workflow.core.domain import DeliverableKind, MeetingStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Meeting
from kim_workflow.settings import Settings
from kim_workflow.simulation.runner import ACTOR, Simulation, SimulationResult, application_document, at
from kim_workflow.simulation.scenario import Apply, Decide, Event, Extend, Scenario, Submit

DAILY = ("application-window", "meeting-reminders", "daily-sweep")
ADMIN = ("open-cycle", "meeting-series", "meeting-notify", "submit-application", "record-submission",
         "extend-deadline", "meeting-attendance")  # fmt: skip
FLOWS = (*DAILY, *ADMIN)
FlowFunction = Callable[..., Any]


def load_flows(project_root: Path) -> dict[str, FlowFunction]:
    """The flows of the deployments named in ``FLOWS``, loaded from their ``prefect.yaml`` entrypoints."""
    from prefect.flows import load_flow_from_entrypoint

    from kim_workflow.orchestration.deployments import read_specs

    if str(project_root) not in sys.path:  # the flow modules import each other as ``flows.<module>``
        sys.path.insert(0, str(project_root))
    specs = {spec.name: spec for spec in read_specs(project_root / "prefect.yaml")}
    missing = [name for name in FLOWS if name not in specs]
    if missing:
        raise RuntimeError(f"prefect.yaml: Deployments fehlen: {', '.join(missing)}")
    return {name: load_flow_from_entrypoint(str(project_root / specs[name].entrypoint)) for name in FLOWS}


class FlowSimulation(Simulation):
    """A :class:`Simulation` whose days and admin actions call the Prefect flows (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        scenario: Scenario,
        *,
        kommunen: int,
        flows: Mapping[str, FlowFunction],
    ) -> None:
        super().__init__(engine, settings, scenario, kommunen=kommunen)
        self.flows = flows

    def open_year(self, day: date) -> None:
        year = self.scenario.year
        with simulated_time(at(day)):
            self.flows["open-cycle"](year=year, actor=ACTOR)
            self.flows["meeting-series"](year=year, actor=ACTOR)
            with session_scope(self.engine) as session:
                ids = session.exec(select(Meeting.id).where(col(Meeting.year) == year)).all()
            for meeting_id in ids:
                self.flows["meeting-notify"](meeting_id=meeting_id)
        self._index_meetings()

    def run_day(self, day: date) -> None:
        if self.on_day is not None:
            self.on_day(day)
        with simulated_time(at(day)):
            for event in self.scenario.on(day):
                self._apply_event(event, day)
            self.flows["application-window"](today=day)
            for meeting in self.meeting_days.get(day - timedelta(days=1), []):
                self._attend(meeting)
            self.flows["meeting-reminders"](today=day)
            self.flows["daily-sweep"](today=day)
        self.result.days += 1

    def _apply_event(self, event: Event, day: date) -> None:
        year = self.scenario.year
        if not self.owes(event):
            return
        if isinstance(event, Decide):
            super()._apply_event(event, day)  # the decision flow would wait for a person's input
            return
        if isinstance(event, Submit) and event.kind is DeliverableKind.QUESTIONNAIRE:
            super()._apply_event(event, day)  # answers come from the portal or a workbook, not from a flow
            return
        if isinstance(event, Apply):
            self.flows["submit-application"](application=application_document(event.ags, year, event.revision),
                                             actor=ACTOR)  # fmt: skip
        elif isinstance(event, Submit):
            submission = {"ags": event.ags, "year": year, "kind": event.kind, "received_on": day}
            self.flows["record-submission"](submission=submission, actor=ACTOR)
        elif isinstance(event, Extend):
            extension = {"ags": event.ags, "year": year, "until": event.until,
                         "reason": "Elternzeit der Integrationsmanagerin"}  # fmt: skip
            self.flows["extend-deadline"](extension=extension, actor=ACTOR)
        self.result.events[type(event).__name__.lower()] += 1

    def _attend(self, meeting: Meeting) -> None:
        if meeting.status is MeetingStatus.CANCELLED:
            return
        present, absent = self.attendance_of(meeting)
        self.flows["meeting-attendance"](attendance={"meeting_id": meeting.id, "present": present, "absent": absent},
                                         actor=ACTOR)  # fmt: skip
        self.result.events["attendance"] += 1

    def collect(self, end: date) -> None:
        """As the base, and delivery counts from the outbox (the flows dispatched, not this object)."""
        super().collect(end)
        status = self.result.outbox_status
        self.result.delivery.update({name: status[name] for name in ("sent", "failed", "unknown")})
        self.result.delivery["retried"] = status["pending"]


def simulate_year_with_flows(
    engine: Engine,
    settings: Settings,
    scenario: Scenario,
    *,
    kommunen: int,
    flows: Mapping[str, FlowFunction],
    start: date | None = None,
    end: date | None = None,
    on_month: Callable[[int, SimulationResult], None] | None = None,
) -> SimulationResult:
    """As :func:`~kim_workflow.simulation.runner.simulate_year`, through the flows."""
    simulation = FlowSimulation(engine, settings, scenario, kommunen=kommunen, flows=flows)
    simulation.on_month = on_month
    return simulation.year(start, end)
