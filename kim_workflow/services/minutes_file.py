"""A minutes file as an email attachment: readable, at most 10 MB, a header-safe name."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from kim_workflow.core.header_text import HeaderTextError, check_header_text
from kim_workflow.core.meetings import MeetingInputError
from kim_workflow.email.mime import Attachment

MINUTES_MAX_BYTES = 10 * 1024 * 1024


def minutes_attachment(path: Path) -> Attachment:
    """The minutes file as an attachment (readable, at most 10 MB, a header-safe name)."""
    try:
        size = path.stat().st_size
        if size > MINUTES_MAX_BYTES:
            raise MeetingInputError(f"Protokolldatei: höchstens 10 MB, nicht {size / 2**20:.1f} MB.")
        content = path.read_bytes()
    except OSError as exc:
        raise MeetingInputError(f"Protokolldatei nicht lesbar: {path} ({exc.strerror or exc})") from None
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        name = check_header_text(path.name, field="Dateiname")
    except HeaderTextError as exc:
        raise MeetingInputError(str(exc)) from None
    return Attachment(name, content_type, content)
