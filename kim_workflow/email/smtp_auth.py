"""Credentials never travel in clear: when the dispatcher may log in to the SMTP server (used by the dispatcher,
``kim up`` and ``kim outbox dispatch``)."""

from __future__ import annotations

import ipaddress

from kim_workflow.settings import Settings, SmtpTls

__all__ = ["is_loopback_host", "plaintext_auth_problem"]


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (127.0.0.0/8, ::1); names are not resolved."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plaintext_auth_problem(settings: Settings) -> str | None:
    """Why the configured login would send the password unencrypted (German), or ``None`` if it would not."""
    if not (settings.smtp_host and settings.smtp_user and settings.smtp_password):
        return None
    if settings.smtp_tls is not SmtpTls.NONE:
        return None
    loopback = is_loopback_host(settings.smtp_host)
    if loopback and settings.smtp_allow_plaintext_auth_on_loopback:
        return None
    text = (
        f"Anmeldung am SMTP-Server {settings.smtp_host} verweigert: Benutzername und Passwort (KIM_SMTP_USER, "
        "KIM_SMTP_PASSWORD) würden unverschlüsselt übertragen (KIM_SMTP_TLS=none). Bitte KIM_SMTP_TLS=starttls "
        "oder KIM_SMTP_TLS=implicit setzen"
    )
    if loopback:
        text += " oder, da der Server auf diesem Rechner läuft, KIM_SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK=true"
    return text + ". Nichts versendet, die Warteschlange bleibt unverändert."
