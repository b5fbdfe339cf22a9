"""Idempotency keys are stored in the outbox: the builders must keep producing the very same strings."""

from __future__ import annotations

from datetime import date

from kim_workflow.email import keys


def test_deliverable_reminder_key_is_pinned() -> None:
    key = keys.outbox_key(
        "deliverable_reminder",
        keys.deliverable_ref("07315000", 2026),
        keys.kommune_recipient("07315000"),
        keys.stage_occasion("reminder-42", date(2026, 12, 15)),
    )
    assert key == "deliverable_reminder|kommune:07315000:year:2026|stage:reminder-42|due:2026-12-15|to:kommune:07315000"


def test_application_keys_are_pinned() -> None:
    ref = keys.application_ref("07339000", 2027)
    assert keys.outbox_key(
        "call_for_applications", ref, "kommune:07339000", keys.stage_occasion("call", date(2026, 10, 31))
    ) == ("call_for_applications|application:07339000:year:2027|stage:call|due:2026-10-31|to:kommune:07339000")
    assert keys.outbox_key("decision_approved", ref, "kommune:07339000", keys.decision_occasion(2, "approved")) == (
        "decision_approved|application:07339000:year:2027|decision:rev2:approved|to:kommune:07339000"
    )
    assert keys.application_received_occasion(3) == "received:rev3"
    assert keys.submission_received_occasion("annual_report") == "received:annual_report"
    assert keys.refs_of_year(2027) == "%:year:2027"


def test_meeting_keys_are_pinned() -> None:
    occasion = keys.sequence_occasion(1, keys.meeting_stage_occasion("reminder-3", date(2026, 5, 6)))
    key = keys.outbox_key("meeting_reminder", keys.meeting_ref(12), " IM@Mainz.de ", occasion)
    assert key == "meeting_reminder|meeting:12|seq:1|stage:reminder-3|day:2026-05-06|to:im@mainz.de"
    assert keys.sequence_occasion(0) == "seq:0"
    assert keys.invitee_ref(12, 7) == "meeting:12:contact:7"
    assert keys.minutes_occasion("https://x.de/p.pdf").startswith("minutes:") and len(keys.minutes_occasion(None)) == 24


def test_digest_and_incident_keys_are_pinned() -> None:
    occasion = keys.due_dates_occasion([date(2026, 12, 15), date(2027, 1, 15)])
    assert keys.outbox_key("escalation_digest", keys.year_ref(2026), "ministerium@mffki.rlp.de", occasion) == (
        "escalation_digest|year:2026|due:2026-12-15,2027-01-15|to:ministerium@mffki.rlp.de"
    )
    assert keys.outbox_range_ref(4, 9) == "outbox:4-9"
    assert keys.incident_occasion(4, 9, 6) == "incident:4-9:6"


def test_stage_in_key_reads_the_stage_part() -> None:
    assert (
        keys.stage_in_key("deliverable_reminder|kommune:1:year:2026|stage:overdue-7|due:2026-12-15|to:x") == "overdue-7"
    )
    assert keys.stage_in_key("meeting_invitation|meeting:1|seq:0|to:a@b.de") is None


def test_deadline_change_key_and_calendar_uid_are_pinned() -> None:
    key = keys.outbox_key(
        "deadline_changed",
        keys.deliverable_ref("07315000", 2026),
        keys.kommune_recipient("07315000"),
        keys.deadline_changed_occasion(2, date(2027, 1, 15)),
    )
    assert key == "deadline_changed|kommune:07315000:year:2026|deadline:rev2|due:2027-01-15|to:kommune:07315000"
    assert keys.deadline_calendar_uid(2026, "07315000", "mffki.rlp.de") == "kim-deadline-2026-07315000@mffki.rlp.de"


def test_the_parts_of_a_reminder_key_read_back() -> None:
    key = keys.outbox_key("deliverable_reminder", keys.deliverable_ref("07315000", 2026), "kommune:07315000",
                     keys.stage_occasion("reminder-42", date(2026, 12, 15)))  # fmt: skip
    assert (keys.stage_in_key(key), keys.due_in_key(key)) == ("reminder-42", date(2026, 12, 15))
    assert keys.parse_deliverable_ref(keys.deliverable_ref("07315000", 2026)) == ("07315000", 2026)
    assert keys.parse_deliverable_ref("year:2026") is None and keys.due_in_key("x|due:2026-13-01") is None
