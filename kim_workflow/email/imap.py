"""The bounce mailbox over IMAP (stdlib ``imaplib``): unseen messages are read without marking them, and flagged
``\\Seen`` only once they are handled, so a crash in between reads them again and a second poll finds nothing."""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from types import TracebackType

from kim_workflow.email.smtp_auth import is_loopback_host
from kim_workflow.settings import Settings, SmtpTls


class BounceMailboxError(RuntimeError):
    """The mailbox could not be opened or read (German text for the run log)."""


class BounceMailbox:
    """``with BounceMailbox(settings) as box: for uid in box.unseen(): box.fetch(uid) … box.mark_seen(uid)``."""

    def __init__(self, settings: Settings) -> None:
        if not settings.bounce_imap_host:
            raise BounceMailboxError("Kein Bounce-Postfach konfiguriert (KIM_BOUNCE_IMAP_HOST)")
        self.settings = settings
        self.host: str = settings.bounce_imap_host
        self.connection: imaplib.IMAP4 | None = None

    def __enter__(self) -> BounceMailbox:
        s = self.settings
        if s.bounce_imap_tls is SmtpTls.NONE and not (
            is_loopback_host(self.host) and s.bounce_imap_allow_plaintext_on_loopback
        ):
            raise BounceMailboxError(
                f"Anmeldung am Bounce-Postfach {self.host} verweigert: das Passwort würde unverschlüsselt übertragen "
                "(KIM_BOUNCE_IMAP_TLS=none). Bitte KIM_BOUNCE_IMAP_TLS=implicit oder starttls setzen."
            )
        try:
            self.connection = self._connect()
            password = s.bounce_imap_password.get_secret_value() if s.bounce_imap_password else ""
            self.connection.login(s.bounce_imap_user or "", password)
            status, _ = self.connection.select(_quoted(s.bounce_imap_mailbox))
            if status != "OK":
                raise BounceMailboxError(f"Ordner {s.bounce_imap_mailbox!r} im Bounce-Postfach nicht gefunden")
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise BounceMailboxError(f"Bounce-Postfach {self.host} nicht erreichbar: {exc}") from None
        return self

    def _connect(self) -> imaplib.IMAP4:
        s, context = self.settings, ssl.create_default_context()
        timeout = s.bounce_imap_timeout_seconds
        if s.bounce_imap_tls is SmtpTls.IMPLICIT:
            return imaplib.IMAP4_SSL(self.host, s.bounce_imap_port, ssl_context=context, timeout=timeout)
        connection = imaplib.IMAP4(self.host, s.bounce_imap_port, timeout=timeout)
        if s.bounce_imap_tls is SmtpTls.STARTTLS:
            connection.starttls(ssl_context=context)
        return connection

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self.connection.logout()
            self.connection = None

    def _command(self, *args: str) -> list[object]:
        if self.connection is None:
            raise BounceMailboxError("Bounce-Postfach ist nicht geöffnet")
        try:
            status, data = self.connection.uid(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise BounceMailboxError(f"Bounce-Postfach {self.host}: {exc}") from None
        if status != "OK":
            raise BounceMailboxError(f"Bounce-Postfach {self.host}: UID {args[0]} abgelehnt ({data!r})")
        return list(data)

    def unseen(self) -> list[str]:
        """UIDs of the messages not handled yet."""
        data = self._command("SEARCH", "UNSEEN")
        return [uid.decode() for uid in (data[0] or b"").split()] if data and isinstance(data[0], bytes) else []

    def fetch(self, uid: str) -> bytes:
        """The whole message, without setting ``\\Seen``."""
        for item in self._command("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        raise BounceMailboxError(f"Bounce-Postfach {self.host}: Nachricht {uid} nicht lesbar")

    def mark_seen(self, uid: str) -> None:
        self._command("STORE", uid, "+FLAGS", "(\\Seen)")


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
