"""Removing email addresses from data that leaves the system (the evaluation pack's event log) (pure)."""

from __future__ import annotations

import re
from typing import Any

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
"""Anything shaped like ``local@domain.tld`` (also inside longer text, e.g. ``"an x@y.de gesendet"``)."""
REMOVED = "[E-Mail-Adresse entfernt]"


def scrub_text(text: str) -> str:
    return ADDRESS.sub(REMOVED, text)


def scrub(value: Any) -> Any:
    """``value`` with every address replaced, at any depth of dicts, lists and tuples (keys too)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
