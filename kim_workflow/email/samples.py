"""A realistic sample context per message kind, named after it (wired into its spec in ``email/specs.py``).

Used by previews, template tests and the wheel test; all addresses are fictitious.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from kim_workflow.core.domain import DeliverableKind, MeetingType, Organiser
from kim_workflow.email.kinds import MessageKind

_BERLIN = ZoneInfo("Europe/Berlin")
_SUBMIT = "kim@mffki.rlp.example"
_IM = {"recipient_name": "Anna Müller", "recipient_anrede": "Frau", "recipient_titel": "Dr."}
_KOMMUNE = {"kommune_name": "Landkreis Mainz-Bingen"}
_APPLICATION = {**_KOMMUNE, **_IM, "funding_year": 2027}
_FILED = {**_APPLICATION, "reference": "KIM-2027-07339000"}
_DELIVERABLES = {
    **_KOMMUNE,
    **_IM,
    "ags": "07339000",
    "cycle_year": 2026,
    "due_date": date(2026, 12, 15),
    "submission_address": _SUBMIT,
}
_MEETING: Mapping[str, Any] = {
    "recipient_name": "Jonas Schmidt",
    "recipient_anrede": "Herr",
    "recipient_titel": None,
    "meeting_type": MeetingType.VERNETZUNGSTREFFEN,
    "title": "Vernetzungstreffen der Integrationsmanagerinnen und -manager",
    "start": datetime(2026, 6, 10, 10, 0, tzinfo=_BERLIN),
    "end": datetime(2026, 6, 10, 15, 0, tzinfo=_BERLIN),
    "location": "MFFKI, Mainz, Sitzungssaal 2.14",
    "video_url": "https://meet.rlp.example/kim-vernetzung",
    "agenda": [
        "Begrüßung und Vorstellungsrunde",
        "Erfahrungen aus dem ersten Förderjahr",
        "Jahresbericht und Fragebogen 2026: Hinweise zur Einreichung",
        "Austausch in Kleingruppen: Zusammenarbeit mit dem Ehrenamt",
    ],
    "organiser": Organiser.FACHREFERAT,
}
_RECIPIENT_KEYS = ("recipient_name", "recipient_anrede", "recipient_titel")
_MEETING_CORE = {k: _MEETING[k] for k in (*_RECIPIENT_KEYS, "meeting_type", "title", "start", "end", "organiser")}

CALL_FOR_APPLICATIONS: Mapping[str, Any] = {
    **_KOMMUNE,
    "recipient_name": None,
    "funding_year": 2027,
    "application_deadline": date(2026, 10, 30),
    "max_personnel_amount": Decimal("60000.00"),
    "max_material_amount": Decimal("20000.00"),
    "required_documents": [
        "Antragsformular mit Unterschrift der Verwaltungsspitze",
        "Stellenbeschreibung der Integrationsmanagerin bzw. des Integrationsmanagers",
        "Kosten- und Finanzierungsplan",
    ],
    "submission_address": _SUBMIT,
}

APPLICATION_RECEIVED: Mapping[str, Any] = {
    **_FILED,
    "received_on": date(2026, 10, 12),
    "requested_amount": Decimal("80000.00"),
    "late": False,
}

APPLICATION_REMINDER: Mapping[str, Any] = {
    **_APPLICATION,
    "application_deadline": date(2026, 10, 30),
    "days_remaining": 14,
    "submission_address": _SUBMIT,
}

DECISION_APPROVED: Mapping[str, Any] = {
    **_FILED,
    "grant_lines": [
        {"label": "Personalkosten (1,0 Vollzeitstelle)", "amount": Decimal("60000.00")},
        {"label": "Sachkosten", "amount": Decimal("20000.00")},
    ],
    "granted_total": Decimal("80000.00"),
    "funding_period_start": date(2027, 3, 1),
    "funding_period_end": date(2027, 12, 31),
    "vacancies": "01.07.2027 bis 31.07.2027",
    "pro_rata_total": Decimal("60000.00"),
    "pro_rata_share": "9 von 12 Monaten",
    "message": "Bitte beachten Sie die Nebenbestimmungen im Bescheid.\nDie erste Rate wird im Januar ausgezahlt.",
}

DECISION_REJECTED: Mapping[str, Any] = {
    **_FILED,
    "reason": "Der Antrag ist nach Ablauf der Antragsfrist am 30.10.2026 eingegangen.",
}

DECISION_CHANGES_REQUESTED: Mapping[str, Any] = {
    **_FILED,
    "message": "Im Kosten- und Finanzierungsplan fehlt der Eigenanteil.\n"
    "Bitte ergänzen Sie die Stellenbeschreibung um die Aufgaben im Bereich Ehrenamt.",
    "resubmit_by": date(2026, 11, 20),
    "submission_address": _SUBMIT,
}

DELIVERABLE_REMINDER: Mapping[str, Any] = {
    **_DELIVERABLES,
    "outstanding": [DeliverableKind.ANNUAL_REPORT, DeliverableKind.QUESTIONNAIRE],
    "days_remaining": 14,
    "workbook_attached": True,
}

OVERDUE_NOTICE: Mapping[str, Any] = {
    **_DELIVERABLES,
    "outstanding": [DeliverableKind.QUESTIONNAIRE],
    "days_overdue": 7,
    "respond_by": date(2027, 1, 8),
    "workbook_attached": False,
}

ESCALATION_DIGEST: Mapping[str, Any] = {
    "recipient_name": None,
    "cycle_year": 2026,
    "as_of": date(2027, 1, 11),
    "entries": [
        {
            "ags": "07339000",
            "kommune_name": "Landkreis Mainz-Bingen",
            "outstanding": [DeliverableKind.QUESTIONNAIRE],
            "due_date": date(2026, 12, 15),
            "days_overdue": 27,
        },
        {
            "ags": "07211000",
            "kommune_name": "Stadt Trier",
            "outstanding": [DeliverableKind.ANNUAL_REPORT, DeliverableKind.QUESTIONNAIRE],
            "due_date": date(2026, 12, 15),
            "days_overdue": 27,
        },
    ],
}

SUBMISSION_CONFIRMATION: Mapping[str, Any] = {
    **_KOMMUNE,
    **_IM,
    "cycle_year": 2026,
    "deliverable": DeliverableKind.ANNUAL_REPORT,
    "received_on": date(2026, 12, 9),
    "on_time": True,
    "still_outstanding": [DeliverableKind.QUESTIONNAIRE],
    "due_date": date(2026, 12, 15),
    "remark": None,
}

PORTAL_LINK: Mapping[str, Any] = {
    **_KOMMUNE,
    **_IM,
    "cycle_year": 2026,
    "portal_link": "https://kim-portal.example/zugang/Beispiel-Zugang",
    "valid_until": date(2027, 6, 13),
}

DEADLINE_CHANGED: Mapping[str, Any] = {
    **_DELIVERABLES,
    "outstanding": [DeliverableKind.ANNUAL_REPORT, DeliverableKind.QUESTIONNAIRE],
    "previous_due_date": date(2026, 12, 15),
    "due_date": date(2027, 1, 29),
    "shortened": False,
    "reason": "Längere Erkrankung der Integrationsmanagerin; Vertretung erst ab Januar 2027",
}

MEETING_INVITATION: Mapping[str, Any] = {**_MEETING, "rsvp_by": date(2026, 5, 29)}

MEETING_UPDATE: Mapping[str, Any] = {
    **_MEETING,
    "changes": ["Neuer Raum: Sitzungssaal 2.14 statt Raum 1.03", "Die Videokonferenz wird zusätzlich angeboten."],
}

MEETING_CANCELLATION: Mapping[str, Any] = {
    **_MEETING_CORE,
    "reason": "Wegen einer kurzfristigen Terminüberschneidung im Ministerium muss das Treffen leider entfallen.",
}

MEETING_REMINDER: Mapping[str, Any] = {**_MEETING, "days_until": 2}

MEETING_MINUTES: Mapping[str, Any] = {
    **_MEETING_CORE,
    "summary": "Die Einreichung von Jahresbericht und Fragebogen erfolgt bis 15.12.2026 per E-Mail.\n"
    "Das nächste Vernetzungstreffen findet im Herbst statt.",
    "attachment_names": ["Protokoll_Vernetzungstreffen_2026-06-10.pdf"],
}

DELIVERY_FAILED: Mapping[str, Any] = {
    "recipient_name": None,
    "problems": [
        {
            "outbox_id": 4711,
            "kind": MessageKind.DELIVERABLE_REMINDER,
            "recipient": "integration@kreis-beispiel.example",
            "subject": "Erinnerung: Jahresbericht und Fragebogen 2026 fällig am 15.12.2026",
            "status": "fehlgeschlagen",
            "attempts": 1,
            "error": "550 5.1.1 <integration@kreis-beispiel.example>: Recipient address rejected: User unknown",
        },
        {
            "outbox_id": 4712,
            "kind": MessageKind.SUBMISSION_CONFIRMATION,
            "recipient": "im@stadt-beispiel.example",
            "subject": "Eingangsbestätigung: Jahresbericht 2026",
            "status": "ungeklärt",
            "attempts": 1,
            "error": "Zeitüberschreitung nach dem Senden der Nachricht",
        },
    ],
    "count": 2,
    "open_total": 3,
    "reported_at": datetime(2026, 12, 1, 9, 30, tzinfo=_BERLIN),
}

KOMMUNE_UNREACHABLE: Mapping[str, Any] = {
    "recipient_name": None,
    "kommune_name": "Landkreis Mainz-Bingen",
    "ags": "07339000",
    "addresses": [
        {
            "name": "Anna Müller",
            "email": "integration@kreis-beispiel.example",
            "role": "Integrationsmanagement",
            "reason": "550 5.1.1 Mailbox unavailable",
        },
        {
            "name": "Jonas Schmidt",
            "email": "vertretung@kreis-beispiel.example",
            "role": "Vertretung",
            "reason": "550 5.1.1 User unknown",
        },
    ],
    "failed_subject": "Erinnerung: Jahresbericht und Fragebogen 2026 fällig am 15.12.2026",
    "reported_at": datetime(2026, 11, 3, 9, 30, tzinfo=_BERLIN),
}

# Fictitious recipients for previews: ministry notices go to the ministry, everything else to a Kommune.
MINISTRY_ADDRESS = "integration@mffki.rlp.example"
KOMMUNE_ADDRESS = "integrationsmanagement@mainz-bingen.example"

_OLD_LINES = [
    {"label": "Personalkosten (1,0 VZÄ)", "amount": Decimal("60000.00")},
    {"label": "Sachkosten", "amount": Decimal("20000.00")},
]

GRANT_AMENDED: Mapping[str, Any] = {
    **_FILED,
    "old_lines": _OLD_LINES,
    "old_total": Decimal("80000.00"),
    "new_lines": [
        {"label": "Personalkosten (1,0 VZÄ)", "amount": Decimal("52500.00")},
        {"label": "Sachkosten", "amount": Decimal("20000.00")},
    ],
    "new_total": Decimal("72500.00"),
    "funding_period": "01.01.2027 bis 31.12.2027",
    "pro_rata_total": Decimal("72500.00"),
    "reason": "Die Stelle ist nach TVöD EG 10 statt EG 11 eingruppiert; die Personalkosten sinken entsprechend.",
}

GRANT_REVOKED: Mapping[str, Any] = {
    **_FILED,
    "old_lines": _OLD_LINES,
    "old_total": Decimal("80000.00"),
    "funding_period": "01.01.2027 bis 31.12.2027",
    "effective_on": date(2027, 10, 15),
    "funded_until": date(2027, 10, 14),
    "remaining_total": Decimal("63010.75"),
    "reason": "Die geförderte Stelle ist seit dem 1. Oktober nicht mehr besetzt und wird nicht nachbesetzt.",
}

OPERATOR_ALERT: Mapping[str, Any] = {
    "recipient_name": None,
    "incident": "run_failed",
    "run_name": "gelassener-biber",
    "deployment": "daily-sweep",
    "state": "abgestürzt",
    "message": "Flow run could not be completed: the worker stopped sending heartbeats.",
    "detected_at": datetime(2026, 12, 1, 7, 4, tzinfo=_BERLIN),
    "ui_url": "http://prefect.intern:4200/runs/flow-run/0b6c7e1a-3f52-4c0e-9d8e-1a2b3c4d5e6f",
}
