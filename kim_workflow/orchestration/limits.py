"""Prefect's global concurrency limits that kim uses on a work pool (created by ``kim deploy``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kim_workflow.settings import Settings

DISPATCH_LIMIT = "kim-dispatch"
DISPATCH_SLOT_TIMEOUT_SECONDS = 600


@contextmanager
def dispatch_slot(settings: Settings) -> Iterator[None]:
    """Hold one slot of the dispatch limit while sending (``kim worker`` names it; ``kim up`` needs none).

    The outbox's claims keep two dispatches from sending one email twice anyway; the limit bounds how many
    SMTP connections the workers open at once.
    """
    if not settings.dispatch_concurrency_limit:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(settings.dispatch_concurrency_limit, timeout_seconds=DISPATCH_SLOT_TIMEOUT_SECONDS):
        yield
