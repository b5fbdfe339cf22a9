"""Validation of values that end up in email headers or addresses (pure, no DNS look-ups)."""

from __future__ import annotations

import re

# Invisible or direction-changing characters: they make a name or subject read differently from what it is.
_INVISIBLE = r"\u0085\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_MULTILINE_CONTROL = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f{_INVISIBLE}]")
AGS_PATTERN = re.compile(r"^\d{8}$")


class InvalidValueError(ValueError):
    """A value that must never enter the system (and so never reach an email header)."""


def check_header_safe(value: str, *, field: str) -> str:
    """Return a one-line ``value`` if it may reach an email header, else raise (the one rule of
    :mod:`kim_workflow.core.header_text`: no line break, control, bidi or zero-width character, no encoded word)."""
    from kim_workflow.core.header_text import check_header_text  # it builds on InvalidValueError defined here

    return check_header_text(value, field=field)


def check_multiline_safe(value: str, *, field: str) -> str:
    """The same rule for free text of several lines: line breaks (LF, U+2028/2029) and tabs are allowed."""
    if _MULTILINE_CONTROL.search(value):
        raise InvalidValueError(f"{field}: enthält unzulässige Steuerzeichen oder unsichtbare Zeichen")
    return value


def normalise_email(value: str, *, field: str = "email") -> str:
    """Validate an address's syntax and return the form we store and send.

    The domain is always in its ASCII form (IDNA, lower-cased: ``im@münchen.de`` → ``im@xn--mnchen-3ya.de``; an
    ``xn--`` domain stays as it is), so only a non-ASCII local part ever needs SMTPUTF8. email-validator's
    ``normalized`` would turn punycode into Unicode, hence the parts are joined here.
    """
    from email_validator import EmailNotValidError, validate_email  # ~40 ms: only where addresses are read

    check_header_safe(value, field=field)
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError(f"{field}: ungültige E-Mail-Adresse ({exc})") from None
    return f"{result.local_part}@{result.ascii_domain}"


_NAME_AND_ADDRESS = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>")
_SPECIALS = re.compile(r'[()<>@,:;.\\"\[\]]')


def check_single_address(value: str, *, field: str) -> str:
    """Exactly one address, ``a@b`` or ``Display Name <a@b>``, as a header-ready string.

    A display name with commas or other specials comes back quoted (``"MFFKI, Referat 72" <kim@…>``), so every
    parser (From header, envelope sender) reads the same single address; lists (``A <a@x>, B <b@y>``) are refused.
    """
    text = check_header_safe(value, field=field).strip()
    match = _NAME_AND_ADDRESS.fullmatch(text)
    if match is None:
        if any(c in text for c in '<>,;" '):
            raise InvalidValueError(f"{field}: erwartet genau eine Adresse (a@b oder Name <a@b>), nicht {value!r}")
        return normalise_email(text, field=field)
    name, address = match["name"].strip(), normalise_email(match["address"], field=field)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].strip()
    if any(c in name for c in '"\\@'):
        raise InvalidValueError(f"{field}: der Anzeigename darf weder Anführungszeichen noch @ enthalten: {name!r}")
    if not name:
        return address
    return f'"{name}" <{address}>' if _SPECIALS.search(name) else f"{name} <{address}>"


def check_ags(value: str) -> str:
    """An AGS is exactly eight digits."""
    if not AGS_PATTERN.fullmatch(value):
        raise InvalidValueError(f"AGS muss aus genau 8 Ziffern bestehen, nicht {value!r}")
    return value
