"""The kinds of email kim-workflow sends; everything else about a kind is its spec in ``email/specs.py``."""

from __future__ import annotations

from enum import StrEnum


class MessageKind(StrEnum):
    CALL_FOR_APPLICATIONS = "call_for_applications"
    APPLICATION_RECEIVED = "application_received"
    APPLICATION_REMINDER = "application_reminder"
    DECISION_APPROVED = "decision_approved"
    DECISION_REJECTED = "decision_rejected"
    DECISION_CHANGES_REQUESTED = "decision_changes_requested"
    DELIVERABLE_REMINDER = "deliverable_reminder"
    OVERDUE_NOTICE = "overdue_notice"
    ESCALATION_DIGEST = "escalation_digest"
    SUBMISSION_CONFIRMATION = "submission_confirmation"
    DEADLINE_CHANGED = "deadline_changed"  # a Kommune's deadline was extended or shortened (updated calendar entry)
    MEETING_INVITATION = "meeting_invitation"
    MEETING_UPDATE = "meeting_update"
    MEETING_CANCELLATION = "meeting_cancellation"
    MEETING_REMINDER = "meeting_reminder"
    MEETING_MINUTES = "meeting_minutes"
    DELIVERY_FAILED = "delivery_failed"  # operator digest to the ministry: emails failed or became unknown
    KOMMUNE_UNREACHABLE = "kommune_unreachable"  # to the ministry: every address of a Kommune bounced
    GRANT_AMENDED = "grant_amended"  # Änderungsbescheid: new amounts of a grant, with the reason
    GRANT_REVOKED = "grant_revoked"  # Widerrufsbescheid: the grant ends on a date, with the reason
    PORTAL_LINK = "portal_link"  # a fresh personal portal link a contact asked for ("Neuen Link anfordern")
    OPERATOR_ALERT = "operator_alert"  # to the operators: no daily sweep by the morning, or a flow run failed
