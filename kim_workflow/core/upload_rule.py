"""The rule for uploaded reports: which file types (recognised by content), how large, and the download name."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReportFileType(StrEnum):
    """Accepted types, by the MIME type their content is recognised as."""

    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ODT = "application/vnd.oasis.opendocument.text"

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", self.DOCX.value: "docx", self.ODT.value: "odt"}[self.value]

    @property
    def label(self) -> str:
        return {"pdf": "PDF", "docx": "Word (DOCX)", "odt": "OpenDocument-Text (ODT)"}[self.extension]


ACCEPTED_LABELS = "PDF, DOCX oder ODT"


class UploadRefused(ValueError):
    """A German reason why a file is not accepted."""


@dataclass(frozen=True, slots=True)
class UploadCheck:
    file_type: ReportFileType
    size: int


def check_upload(detected_mime: str | None, size: int, limit: int) -> UploadCheck:
    """Accept a file of ``size`` bytes whose content was recognised as ``detected_mime``; else ``UploadRefused``."""
    if size <= 0:
        raise UploadRefused("Die Datei ist leer. Bitte wählen Sie Ihren Jahresbericht aus.")
    if size > limit:
        raise UploadRefused(f"Die Datei ist größer als {format_size(limit)}. Bitte laden Sie eine kleinere Datei hoch.")
    try:
        file_type = ReportFileType(detected_mime or "")
    except ValueError:
        raise UploadRefused(
            f"Die Datei ist kein {ACCEPTED_LABELS}-Dokument (der Inhalt zählt, nicht der Dateiname). "
            "Bitte speichern Sie den Bericht in einem dieser Formate."
        ) from None
    return UploadCheck(file_type, size)


def format_size(size: int) -> str:
    """German notation: ``25 MB``, ``1,5 MB``, ``812 KB``, ``17 Bytes``."""
    if size >= 1024 * 1024:
        value = size / (1024 * 1024)
        text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
        return f"{text.replace('.', ',')} MB"
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} Bytes"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_download_name(ags: str, year: int, file_type: ReportFileType) -> str:
    """The name a download gets: built from our data only, never from what the user uploaded."""
    return f"jahresbericht-{year}-{_UNSAFE.sub('', ags)}.{file_type.extension}"


def display_file_name(name: str, max_length: int = 200) -> str:
    """An uploaded file's name for display and emails: its last path part, control characters removed, shortened."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    return (cleaned or "Datei")[:max_length]
