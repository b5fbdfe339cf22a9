"""The SMTP password never shows: not in reprs, logs, CLI output, Prefect parameters, artifacts or the outbox."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cycle_admin import open_cycle
from flows.daily_sweep import daily_sweep
from kim_workflow.cli import app
from kim_workflow.db.engine import make_engine, session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.services import registry
from kim_workflow.settings import load_settings
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

SECRET = "s3cr3t-Pa55wort-kim"
NOW = datetime(2026, 10, 1, tzinfo=UTC)


async def everything_prefect_stored() -> str:
    """Flow-run parameters, artifacts and logs as the Prefect server holds them."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        runs = await client.read_flow_runs(limit=200)
        artifacts = await client.read_artifacts(limit=200)
        logs = await client.read_logs(limit=200)
    parts: list[Any] = [r.parameters for r in runs] + [a.data for a in artifacts] + [a.description for a in artifacts]
    parts += [log.message for log in logs]
    return "\n".join(str(p) for p in parts)


def test_the_smtp_password_appears_nowhere(
    kim_flow_env: str,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("KIM_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KIM_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("KIM_SMTP_PASSWORD", SECRET)
    engine = make_engine(kim_flow_env)
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        registry.import_contacts(
            session, "ags,name,email,role\n07315000,Frau A,a@mainz.example,integration_manager\n", now=NOW, actor="t"
        )
    write_all_active(tmp_path / "data" / "policies")  # a year without applications: Mainz owes its reports
    open_cycle(year=2026, actor="test")
    daily_sweep(today=date(2026, 11, 3))
    assert len(smtp_server.handler.received) == 1

    settings = load_settings()
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == SECRET
    cli = CliRunner().invoke(app, ["outbox", "list"])
    dry = CliRunner().invoke(app, ["sweep", "--today", "2026-11-03", "--dry-run"])
    with session_scope(engine) as session:
        outbox_text = "\n".join(
            f"{m.subject}{m.text_body}{m.html_body}{m.last_error}" for m in session.exec(select(OutboxMessage))
        )
    sent = "\n".join(r.message.as_string() for r in smtp_server.handler.received)
    places = {
        "repr": repr(settings) + str(settings) + settings.model_dump_json(),
        "cli": cli.output + dry.output,
        "logs": caplog.text,
        "prefect": asyncio.run(everything_prefect_stored()),
        "outbox": outbox_text,
        "sent mail": sent,
    }
    assert cli.exit_code == 0 and dry.exit_code == 0
    assert {name: SECRET in text for name, text in places.items()} == dict.fromkeys(places, False)
    assert "kim-status-2026" in places["prefect"] or "Förderjahr 2026" in places["prefect"]
