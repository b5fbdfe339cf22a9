"""Runtime settings from the environment (prefix ``KIM_``) or a ``.env`` file.

Nothing is read at import time: call :func:`load_settings` where the settings are needed (the composition root).
Secrets are ``SecretStr`` and the database URL is masked in ``repr``, so settings can be logged safely.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_serializer, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kim_workflow.core.validation import InvalidValueError, check_single_address, normalise_email

DATABASE_SCHEMES = {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


def default_data_dir() -> Path:
    """``<project>/var`` when running from a checkout, else ``~/.local/share/kim-workflow``."""
    project = Path(__file__).resolve().parent.parent
    if (project / "pyproject.toml").is_file() and (project / "prefect.yaml").is_file():
        return project / "var"
    return Path.home() / ".local" / "share" / "kim-workflow"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


class Settings(BaseSettings):
    """Everything kim-workflow reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="KIM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    timezone: str = "Europe/Berlin"

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "Kommunales Integrationsmanagement RLP <kim@mffki.rlp.de>"
    mail_reply_to: str = "kim@mffki.rlp.de"
    ministry_escalation_address: str = "integration@mffki.rlp.de"

    dispatch_concurrency: int = Field(default=4, ge=1, le=64)
    dispatch_rate_per_second: float = Field(default=0.0, ge=0, description="0 means unlimited")
    dispatch_max_attempts: int = Field(default=8, ge=1)
    dispatch_backoff_seconds: float = Field(default=60.0, gt=0)
    dispatch_backoff_cap_seconds: float = Field(default=6 * 3600.0, gt=0)
    send_enabled: bool = True
    smtp_allow_plaintext_auth_on_loopback: bool = Field(
        default=False, description="log in without TLS, only to a server on this machine (127.0.0.1, ::1)"
    )
    outbox_stale_after_seconds: float = Field(
        default=900.0, gt=0, description="claimed/sending rows of a dead dispatcher are recovered after this long"
    )
    dispatch_db_retry_seconds: float = Field(
        default=60.0, ge=0, description="how long a dispatch waits out a lost database connection"
    )

    # production on a work pool (kim deploy, kim worker): alerts, crash recovery, concurrency
    operator_alert_address: str | None = Field(
        default=None, description="operators' mailbox for alerts (missed sweep, failed run); unset: the ministry's"
    )
    missed_sweep_alert_seconds: int = Field(
        default=26 * 3600, ge=10, description="alert when no daily-sweep completed this long after the last one"
    )
    flow_heartbeat_seconds: int = Field(
        default=60, ge=30, description="flow runs of kim worker report this often; silent for ~2x: Crashed"
    )
    start_timeout_seconds: int = Field(
        default=600, ge=30, description="a run Pending this long without starting (its worker died): Crashed"
    )
    crash_reruns: int = Field(default=2, ge=0, le=10, description="a crashed run is scheduled again this often")
    dispatch_slots: int = Field(default=2, ge=1, le=64, description="dispatches at once on the work pool")
    dispatch_concurrency_limit: str | None = Field(
        default=None, description="the Prefect global concurrency limit a dispatch holds (kim worker sets it)"
    )

    # the mailbox where bounces (delivery status notifications) arrive; unset: no bounce check
    bounce_imap_host: str | None = None
    bounce_imap_port: int = Field(default=993, ge=1, le=65535)
    bounce_imap_user: str | None = None
    bounce_imap_password: SecretStr | None = None
    bounce_imap_mailbox: str = "INBOX"
    bounce_imap_tls: SmtpTls = SmtpTls.IMPLICIT
    bounce_imap_timeout_seconds: float = Field(default=30.0, gt=0)
    bounce_imap_allow_plaintext_on_loopback: bool = Field(
        default=False, description="log in to the bounce mailbox without TLS, only on this machine"
    )

    # the Kommunen's portal (kim portal, kim up); behind a reverse proxy in production
    portal_host: str = "127.0.0.1"
    portal_port: int = Field(default=8400, ge=1, le=65535)
    portal_public_url: str = Field(default="", description="base URL in emailed links; empty: http://host:port")
    portal_upload_limit_mb: int = Field(default=25, ge=1, le=1024)
    portal_cookie_secure: bool = Field(default=True, description="false only for plain http on this machine")
    portal_session_minutes: int = Field(default=120, ge=5, le=24 * 60)
    portal_workers: int = Field(default=1, ge=1, le=32, description="uvicorn worker processes of kim portal")
    portal_rate_limit_attempts: int = Field(default=10, ge=1, description="failed link/login attempts per window")
    portal_rate_limit_window_seconds: int = Field(default=900, ge=1)

    @model_validator(mode="after")
    def _derive_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'kim.db'}"
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unbekannte Zeitzone {value!r}") from None
        return value

    @field_validator("portal_public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        """Emailed links are built from it: an http(s) address without query or fragment, or empty."""
        parts = urlsplit(value.strip())
        if value and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment):
            raise ValueError(f"keine Web-Adresse (https://… ohne ? und #): {value!r}")
        return value.strip()

    @field_validator("ministry_escalation_address", "operator_alert_address")
    @classmethod
    def _valid_address(cls, value: str | None) -> str | None:
        """A recipient: one bare address."""
        if value is None:
            return None
        try:
            return normalise_email(value, field="Adresse")
        except InvalidValueError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _single_address(cls, value: str) -> str:
        """One address with an optional display name; the envelope sender is derived from it."""
        try:
            return check_single_address(value, field="Adresse")
        except InvalidValueError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        """SQLite or PostgreSQL, with a readable host and port (an empty value means the data dir's SQLite)."""
        if not value:
            return value
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"erwartet sqlite:///PFAD oder postgresql+psycopg://BENUTZER@HOST/DATENBANK, nicht {mask_url(value)!r}"
            )
        try:
            _ = urlsplit(value).port
        except ValueError:
            raise ValueError(f"ungültiger Port in {mask_url(value)!r}") from None
        return value

    @field_serializer("database_url")
    def _masked_url(self, value: str) -> str:
        return mask_url(value)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    @property
    def policy_dir(self) -> Path:
        """Year policies the ministry maintains (``<year>.toml``, ``default.toml``); override the shipped ones."""
        return self.data_dir / "policies"

    @property
    def questionnaire_dir(self) -> Path:
        """Questionnaires the ministry maintains (``<year>.toml``); a year without one uses the shipped default."""
        return self.data_dir / "questionnaires"

    @property
    def maildir(self) -> Path:
        """Where the local mail sink stores messages when no SMTP server is configured."""
        return self.data_dir / "mail"

    @property
    def portal_base_url(self) -> str:
        """The portal's address as the Kommunen see it (links in emails), without a trailing slash."""
        return (self.portal_public_url or f"http://{self.portal_host}:{self.portal_port}").rstrip("/")

    @property
    def portal_upload_limit_bytes(self) -> int:
        return self.portal_upload_limit_mb * 1024 * 1024

    @property
    def upload_dir(self) -> Path:
        """Uploaded files: ``<data dir>/uploads/<year>/<ags>/<generated name>``."""
        return self.data_dir / "uploads"

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (mask_url(value) if name == "database_url" else value)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings now (environment, ``.env``), with explicit overrides for tests and the CLI."""
    return Settings(**overrides)
