"""Validation of values that end up in email headers or addresses (pure, no DNS look-ups)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
AGS_PATTERN = re.compile(r"^\d{8}$")


class InvalidValueError(ValueError):
    """A value that must never enter the system (and so never reach an email header)."""


def check_header_safe(value: str, *, field: str) -> str:
    """Return ``value`` if it holds no CR, LF, NUL or other control character, else raise."""
    if _CONTROL.search(value):
        raise InvalidValueError(f"{field}: enthält unzulässige Steuerzeichen (z. B. Zeilenumbruch)")
    return value


def normalise_email(value: str, *, field: str = "email") -> str:
    """Validate an address's syntax and return the form we store and send.

    The domain is always in its ASCII form (IDNA, lower-cased: ``im@münchen.de`` → ``im@xn--mnchen-3ya.de``; an
    ``xn--`` domain stays as it is), so only a non-ASCII local part ever needs SMTPUTF8. email-validator's
    ``normalized`` would turn punycode into Unicode, hence the parts are joined here.
    """
    check_header_safe(value, field=field)
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError(f"{field}: ungültige E-Mail-Adresse ({exc})") from None
    return f"{result.local_part}@{result.ascii_domain}"


def check_ags(value: str) -> str:
    """An AGS is exactly eight digits."""
    if not AGS_PATTERN.fullmatch(value):
        raise InvalidValueError(f"AGS muss aus genau 8 Ziffern bestehen, nicht {value!r}")
    return value
