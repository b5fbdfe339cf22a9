"""A broken policy file ends a flow run failed with the German message, and its tasks do not retry it."""

from __future__ import annotations

import pytest
from prefect.states import Completed, Failed

from kim_workflow.core.policy import PolicyError
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.orchestration.outcomes import policy_refused, retry_unless_bad_input


@pytest.mark.parametrize(
    ("error", "retry"),
    [(PolicyError("funding.max_fte: keine Zahl"), False), (InvalidValueError("x"), False), (OSError("weg"), True)],
)
def test_bad_input_is_not_retried(error: Exception, retry: bool) -> None:
    assert retry_unless_bad_input(None, None, Failed(data=error)) is retry
    assert retry_unless_bad_input(None, None, Completed(data=1)) is True


def test_a_broken_policy_ends_the_run_failed_with_the_german_message(caplog: pytest.LogCaptureFixture) -> None:
    error = PolicyError("funding.max_fte: keine Zahl").in_file("2027.toml")
    state = policy_refused(error)
    assert state.is_failed()
    assert state.message == (
        "Fehlerhafte Richtlinie, nichts geplant oder versendet: "
        "Richtlinie 2027.toml, Abschnitt [funding], Schlüssel max_fte: keine Zahl"
    )
    assert "Traceback" not in caplog.text and "Schlüssel max_fte" in caplog.text
