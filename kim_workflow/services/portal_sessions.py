"""Portal sessions (server-side, the cookie only as its SHA-256) and the rate limit of failed attempts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from kim_workflow.core.portal_access import RateLimit
from kim_workflow.db.models import Contact, PortalAccount, PortalAttempt, PortalSession
from kim_workflow.services.portal_links import PERSONAL_ROLES, LinkAccess


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """Who a session belongs to: a Kommune's contact (for one year) or a ministry account."""

    session_id: int
    contact_id: int | None
    kommune_id: int | None
    year: int | None
    account_id: int | None
    account_name: str | None = None
    contact_name: str | None = None

    @property
    def is_ministry(self) -> bool:
        return self.account_id is not None


def start_session(
    session: Session, *, now: datetime, minutes: int, access: LinkAccess | None = None, account_id: int | None = None
) -> str:
    """A new session for a Kommune's contact or a ministry account; returns the cookie value (shown once)."""
    cookie = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            session_hash=_hash(cookie),
            contact_id=access.contact_id if access else None,
            kommune_id=access.kommune_id if access else None,
            year=access.year if access else None,
            account_id=account_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return cookie


def signed_in(session: Session, cookie: str | None, *, now: datetime) -> SignedIn | None:
    """The live session of ``cookie``: not ended, not expired, its contact still active (or account active)."""
    if not cookie:
        return None
    found = session.exec(
        select(PortalSession, Contact)
        .join(Contact, col(Contact.id) == col(PortalSession.contact_id), isouter=True)
        .where(col(PortalSession.session_hash) == _hash(cookie))
    ).first()
    if found is None:
        return None
    row, contact = found
    if row.ended_at is not None or now >= row.expires_at or row.id is None:
        return None
    if row.contact_id is not None:
        if contact is None or not contact.active or contact.role not in PERSONAL_ROLES:
            return None
        return SignedIn(row.id, row.contact_id, row.kommune_id, row.year, None, contact_name=contact.name)
    account = session.get(PortalAccount, row.account_id) if row.account_id is not None else None
    if account is None or not account.active:
        return None
    return SignedIn(row.id, None, None, None, account.id, account.display_name)


def end_session(session: Session, session_id: int, *, now: datetime) -> None:
    row = session.get(PortalSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now


def attempt_bucket(kind: str, client: str) -> str:
    """The rate-limit bucket of a client (its address only as a hash)."""
    return f"{kind}:{_hash(client)[:40]}"


def attempts_allowed(session: Session, bucket: str, limit: RateLimit, *, now: datetime) -> bool:
    recent = session.exec(
        select(PortalAttempt.at).where(
            col(PortalAttempt.bucket) == bucket, col(PortalAttempt.at) > limit.window_start(now)
        )
    ).all()
    return limit.allows(recent, now)


def record_failed_attempt(session: Session, bucket: str, limit: RateLimit, *, now: datetime) -> None:
    """Count a failed attempt; attempts older than the window are dropped on the way."""
    session.exec(sa.delete(PortalAttempt).where(col(PortalAttempt.at) <= limit.window_start(now)))
    session.add(PortalAttempt(bucket=bucket, at=now))
    session.flush()
