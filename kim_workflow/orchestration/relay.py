"""What ``kim up`` does itself, in background threads, so that users never wait for a flow-run process to start.

- :class:`OutboxRelay` sends an email within about a second of it entering the outbox (the 15-minute
  ``dispatch-outbox`` deployment stays as the backstop) and reports new delivery problems to the ministry.
- :class:`EventRelay` hands new domain events to Prefect (what the triggers react to) and refreshes the views
  they touch; it applies submitted decision forms at once (:mod:`decision_watch`) and makes sure every waiting
  application has exactly one resumable decision run.

Each loop survives any error of one round (logged, retried next round): a database or Prefect blip must not end
``kim up``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from kim_workflow.email.dispatcher.store import count_due
from kim_workflow.orchestration import views
from kim_workflow.orchestration.decision_watch import DecisionWatcher
from kim_workflow.orchestration.events import publish_and_refresh
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.settings import Settings

logger = logging.getLogger("kim_workflow.relay")
Clock = Callable[[], datetime]


class _Loop(threading.Thread):
    """A daemon thread that calls ``work`` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, name: str, interval: float, work: Callable[[], object]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval, self._work = interval, work
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                self._work()
            except Exception:  # keep going: the work stays in the database and is retried next round
                logger.warning("%s: Durchlauf fehlgeschlagen, nächster Versuch folgt", self.name, exc_info=True)
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self, timeout: float = 30) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=timeout)


class OutboxRelay(_Loop):
    """Dispatch whenever something is due (one cheap count per round when nothing is)."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock, interval: float = 0.5) -> None:
        super().__init__("kim-outbox-relay", interval, self.round)
        self.engine, self.settings, self.clock = engine, settings, clock
        self.sent = 0

    def round(self) -> None:
        now = self.clock()
        if not self.settings.send_enabled or not count_due(self.engine, now=now, cap=1):
            return
        delivery = dispatch_and_report(self.engine, self.settings, now=now)
        self.sent += delivery.report.sent
        for line in delivery.problem_lines():
            logger.warning("Nicht zugestellt: %s", line)
        if delivery.problems:
            views.publish_outbox_problems(self.engine)


class EventRelay(_Loop):
    """Publish domain events (+ refresh views); now and then make sure every waiting application has a form."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        decisions: DecisionWatcher,
        interval: float = 1.0,
        reconcile_every: float = 60.0,
    ) -> None:
        super().__init__("kim-event-relay", interval, self.round)
        self.engine, self.settings, self.clock, self.decisions = engine, settings, clock, decisions
        self.reconcile_every = reconcile_every
        self._next_reconcile = 0.0

    def round(self) -> None:
        publish_and_refresh(self.engine, self.settings, now=self.clock())
        if time.monotonic() >= self._next_reconcile:
            self._next_reconcile = time.monotonic() + self.reconcile_every
            self.decisions.reconcile()


class DecisionRelay(_Loop):
    """Apply submitted decision forms at once, on a loop of its own (a slow view refresh never delays them)."""

    def __init__(self, decisions: DecisionWatcher, interval: float = 0.5) -> None:
        super().__init__("kim-decision-relay", interval, decisions.apply_submitted_forms)


def start_relays(engine: Engine, settings: Settings, clock: Clock) -> list[_Loop]:
    """The background loops of ``kim up``, started; stop each with ``.stop()``."""
    decisions = DecisionWatcher(engine, settings, clock)
    relays: list[_Loop] = [
        OutboxRelay(engine, settings, clock),
        DecisionRelay(decisions),
        EventRelay(engine, settings, clock, decisions),
    ]
    for relay in relays:
        relay.start()
    return relays
