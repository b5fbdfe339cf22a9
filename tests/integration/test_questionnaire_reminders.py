"""Reminders with the questionnaire workbook: the email says it is attached, the re-send after a bounce carries
the same workbook to the next contact (real aiosmtpd server)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import OutboxMessage
from kim_workflow.email.mime import Attachment
from kim_workflow.services import registry
from kim_workflow.services.cycles import open_cycle
from kim_workflow.services.delivery_problems import dispatch_and_report
from kim_workflow.services.policies import load_policy
from kim_workflow.services.questionnaire_workbook import XLSX_TYPE
from kim_workflow.services.sweep import sweep_day
from kim_workflow.settings import Settings
from tests.support.obligations import write_all_active
from tests.support.smtp import SmtpServer

KOBLENZ = "07111000"
R42 = date(2026, 11, 3)
NOW = datetime(2026, 11, 3, 7, tzinfo=UTC)
CONTACTS = (
    "ags,name,email,role\n"
    f"{KOBLENZ},Frau IM Koblenz,im@koblenz.example,integration_manager\n"
    f"{KOBLENZ},Integrationsbüro Koblenz,buero@koblenz.example,role_mailbox\n"
)


def test_the_resent_reminder_after_a_bounce_carries_the_workbook(
    engine: Engine, settings: Settings, smtp_server: SmtpServer
) -> None:
    policy_file = write_all_active(settings.policy_dir)
    policy_file.write_text(policy_file.read_text(encoding="utf-8") + "attach_questionnaire_workbook = true\n",
                           encoding="utf-8")  # fmt: skip
    with session_scope(engine) as session:
        registry.seed_kommunen(session, now=NOW)
        assert registry.import_contacts(session, CONTACTS, now=NOW, actor="t").ok
        open_cycle(session, policy=load_policy(2026, settings.policy_dir), now=NOW, actor="t")
    smtp_server.handler.behaviour.reject_rcpt_550 = {"im@koblenz.example"}
    with session_scope(engine) as session:
        sweep_day(session, settings, today=R42, now=NOW)
    dispatch_and_report(engine, settings, now=NOW)
    with session_scope(engine) as session:
        rows = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "deliverable_reminder")
                                 .order_by(col(OutboxMessage.id))))  # fmt: skip
    assert [(m.recipient, m.status) for m in rows] == [
        ("im@koblenz.example", OutboxStatus.FAILED),
        ("buero@koblenz.example", OutboxStatus.SENT),
    ]
    workbooks = [[Attachment.from_json(a) for a in m.attachments if a["content_type"] == XLSX_TYPE] for m in rows]
    assert [len(w) for w in workbooks] == [1, 1]
    assert workbooks[0][0].content == workbooks[1][0].content
    assert workbooks[1][0].filename == "Fragebogen-2026-07111000-Koblenz.xlsx"
    assert load_workbook(io.BytesIO(workbooks[1][0].content))["Fragebogen"]["B3"].value == KOBLENZ
    for row in rows:
        assert "Im Anhang finden Sie außerdem den Fragebogen als Excel-Arbeitsmappe" in row.text_body
        assert "Excel-Arbeitsmappe, für Ihre Kommune vorbereitet" in row.html_body
    delivered = smtp_server.handler.by_recipient()["buero@koblenz.example"]
    names = [part.get_filename() for message in delivered for part in message.message.iter_attachments()]
    assert "Fragebogen-2026-07111000-Koblenz.xlsx" in names
