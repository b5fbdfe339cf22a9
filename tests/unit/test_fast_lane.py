"""The test lanes: markers from folder and fixtures, and an SMTP server only for tests that ask for one."""

from __future__ import annotations

import socket

import pytest

from kim_workflow.settings import Settings
from tests.support.markers import TESTS, markers_for
from tests.support.smtp import SmtpServer


def test_a_harness_test_is_prefect_and_a_database_test_is_postgres_only_on_postgresql() -> None:
    flow_test = TESTS / "flows" / "test_cycle_flows.py"
    assert markers_for(flow_test, ["kim_flow_env", "prefect_harness", "database_url"], on_postgres=False) == ["prefect"]
    assert markers_for(flow_test, ["prefect_harness", "database_url"], on_postgres=True) == ["prefect", "postgres"]
    assert markers_for(TESTS / "integration" / "test_outbox.py", ["engine", "database_url"], on_postgres=False) == []


def test_e2e_and_fault_tests_are_slow_and_unit_tests_are_not() -> None:
    assert markers_for(TESTS / "e2e" / "test_kim_up.py", [], on_postgres=False) == ["slow"]
    assert markers_for(TESTS / "faults" / "test_faults.py", ["smtp_server"], on_postgres=False) == ["slow"]
    assert markers_for(TESTS / "unit" / "test_policy.py", [], on_postgres=False) == []


def test_this_folder_is_in_the_fast_lane(request: pytest.FixtureRequest) -> None:
    assert not {m.name for m in request.node.iter_markers()} & {"prefect", "slow"}


def test_settings_without_an_smtp_server_point_at_a_closed_port(settings: Settings) -> None:
    assert settings.smtp_host is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((settings.smtp_host, settings.smtp_port), timeout=2).close()


def test_settings_of_a_test_with_an_smtp_server_point_at_it(settings: Settings, smtp_server: SmtpServer) -> None:
    assert (settings.smtp_host, settings.smtp_port) == (smtp_server.host, smtp_server.port)
    socket.create_connection((smtp_server.host, smtp_server.port), timeout=2).close()
