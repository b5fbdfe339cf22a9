"""Ministry accounts of the portal: argon2id password hashes, never the password itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from kim_workflow.db.events import record_event
from kim_workflow.db.models import PortalAccount
from kim_workflow.services.errors import UseCaseError

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
USERNAME_MAX = 200
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("kim-portal-dummy-password")  # verified against for unknown names: same time either way


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise UseCaseError(f"Das Passwort muss mindestens {PASSWORD_MIN} Zeichen lang sein.")
    if len(password) > PASSWORD_MAX:
        raise UseCaseError(f"Das Passwort darf höchstens {PASSWORD_MAX} Zeichen lang sein.")
    return password


def _username(name: str) -> str:
    name = name.strip().lower()
    if not name or len(name) > USERNAME_MAX or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise UseCaseError(f"Ungültiger Benutzername {name!r}: ohne Leerzeichen, höchstens {USERNAME_MAX} Zeichen.")
    return name


def _account(session: Session, username: str) -> PortalAccount | None:
    return session.exec(select(PortalAccount).where(col(PortalAccount.username) == _username(username))).first()


def add_account(
    session: Session, *, username: str, display_name: str, password: str, now: datetime, actor: str
) -> PortalAccount:
    name = _username(username)
    if _account(session, name) is not None:
        raise UseCaseError(f"Den Benutzer {name!r} gibt es schon (neues Passwort: kim portal user password {name}).")
    account = PortalAccount(
        username=name, display_name=display_name.strip() or name, password_hash=_HASHER.hash(check_password(password)),
        active=True, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(account)
    session.flush()
    record_event(session, now=now, actor=actor, action="kim.portal.account_added", subject_type="portal_account",
                 subject_id=str(account.id))  # fmt: skip
    return account


def set_password(session: Session, *, username: str, password: str, now: datetime, actor: str) -> None:
    account = _known(session, username)
    account.password_hash, account.updated_at = _HASHER.hash(check_password(password)), now
    record_event(session, now=now, actor=actor, action="kim.portal.password_changed", subject_type="portal_account",
                 subject_id=str(account.id))  # fmt: skip


def set_active(session: Session, *, username: str, active: bool, now: datetime, actor: str) -> None:
    account = _known(session, username)
    account.active, account.updated_at = active, now
    record_event(session, now=now, actor=actor, subject_type="portal_account", subject_id=str(account.id),
                 action="kim.portal.account_activated" if active else "kim.portal.account_deactivated")  # fmt: skip


def _known(session: Session, username: str) -> PortalAccount:
    account = _account(session, username)
    if account is None:
        raise UseCaseError(f"Unbekannter Benutzer {username.strip()!r} (kim portal user list zeigt alle).")
    return account


@dataclass(frozen=True)
class AccountRow:
    username: str
    display_name: str
    active: bool


def list_accounts(session: Session) -> list[AccountRow]:
    rows = session.exec(select(PortalAccount).order_by(col(PortalAccount.username))).all()
    return [AccountRow(a.username, a.display_name, a.active) for a in rows]


def verify_login(session: Session, *, username: str, password: str, now: datetime) -> PortalAccount | None:
    """The active account if the password is right, else None (an unknown name costs the same time)."""
    try:
        account = _account(session, username)
    except UseCaseError:
        account = None
    stored = account.password_hash if account is not None and account.active else _DUMMY
    try:
        _HASHER.verify(stored, password[:PASSWORD_MAX])
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.active:
        return None
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    return account
