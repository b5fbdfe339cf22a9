"""The Jahresbericht as a file: stored under ``uploads/<year>/<ags>/<generated name>``, replaceable until submitted.

The HTTP layer streams the request into a staging file in the target folder (:func:`staging_path`) and hands it
over with its size, SHA-256 and recognised type; nothing here ever takes a path or a name from user input.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.upload_rule import ReportFileType, display_file_name, format_size, safe_download_name
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Deliverable, Kommune, PortalUpload
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import kommune_by_ags
from kim_workflow.services.notifications import record_submission_and_confirm
from kim_workflow.services.submissions import SubmissionOutcome
from kim_workflow.settings import Settings

REPORT = DeliverableKind.ANNUAL_REPORT


def kommune_folder(upload_root: Path, year: int, ags: str) -> Path:
    """``<root>/<year>/<ags>``: both parts are ours (an int and a Kommune's 8-digit AGS from the database)."""
    if not (ags.isdigit() and len(ags) == 8):
        raise ValueError("AGS must be 8 digits")
    return upload_root / str(int(year)) / ags


def staging_path(upload_root: Path, year: int, ags: str) -> Path:
    """A fresh hidden file in the Kommune's folder to stream an upload into (renamed into place when accepted)."""
    folder = kommune_folder(upload_root, year, ags)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".upload-{secrets.token_hex(16)}.part"


def deliverable_of(session: Session, kommune_id: int, year: int, kind: DeliverableKind) -> Deliverable | None:
    return session.exec(
        select(Deliverable).where(
            col(Deliverable.kommune_id) == kommune_id, col(Deliverable.year) == year, col(Deliverable.kind) == kind
        )
    ).first()


def current_upload(session: Session, kommune_id: int, year: int, kind: DeliverableKind = REPORT) -> PortalUpload | None:
    """The file that counts: the latest one not replaced."""
    return session.exec(
        select(PortalUpload)
        .where(
            col(PortalUpload.kommune_id) == kommune_id,
            col(PortalUpload.year) == year,
            col(PortalUpload.kind) == kind,
            col(PortalUpload.replaced_at).is_(None),
        )
        .order_by(col(PortalUpload.id).desc())
    ).first()


def _open_report(session: Session, kommune: Kommune, year: int) -> Deliverable:
    deliverable = deliverable_of(session, kommune.id or 0, year, REPORT)
    if deliverable is None or deliverable.waived_at is not None:
        raise UseCaseError(f"Für {kommune.name} ist im Berichtsjahr {year} kein Jahresbericht fällig.")
    if deliverable.received_on is not None:
        raise UseCaseError(
            "Der Jahresbericht ist bereits eingereicht und kann nicht mehr geändert werden. "
            "Für eine Korrektur wenden Sie sich bitte an das Ministerium."
        )
    return deliverable


def store_report(
    session: Session, *, upload_root: Path, staged: Path, ags: str, year: int, original_name: str, size: int,
    sha256: str, file_type: ReportFileType, contact_id: int | None, now: datetime,
) -> PortalUpload:  # fmt: skip
    """Keep a checked upload as the Kommune's current report file (the previous one is marked replaced)."""
    kommune = kommune_by_ags(session, ags)
    _open_report(session, kommune, year)
    folder = kommune_folder(upload_root, year, ags)
    if staged.parent != folder:
        raise ValueError("staged file outside the Kommune's folder")
    previous = current_upload(session, kommune.id or 0, year)
    if previous is not None:
        previous.replaced_at = now
    stored_name = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(8)}.{file_type.extension}"
    os.replace(staged, folder / stored_name)
    upload = PortalUpload(
        kommune_id=kommune.id or 0, year=year, kind=REPORT, stored_name=stored_name,
        original_name=display_file_name(original_name, 255), content_type=file_type.value, size=size, sha256=sha256,
        uploaded_by=contact_id, uploaded_at=now,
    )  # fmt: skip
    session.add(upload)
    session.flush()
    record_event(
        session, now=now, actor=f"contact:{contact_id}", action="kim.portal.report_uploaded", subject_type="kommune",
        subject_id=ags, year=year,
        payload={"upload_id": upload.id, "size": size, "sha256": sha256, "replaces": previous.id if previous else None},
    )  # fmt: skip
    return upload


def submit_report(
    session: Session, settings: Settings, *, ags: str, year: int, contact_id: int | None, today: date, now: datetime
) -> SubmissionOutcome:
    """Hand in the current file: recorded by the same use case as ``kim submission record`` (event, confirmation
    with file name, size and SHA-256, reminders stop); afterwards the report is read-only."""
    kommune = kommune_by_ags(session, ags)
    _open_report(session, kommune, year)
    upload = current_upload(session, kommune.id or 0, year)
    if upload is None:
        raise UseCaseError("Bitte laden Sie zuerst Ihren Jahresbericht hoch.")
    outcome = record_submission_and_confirm(
        session, settings, ags=ags, year=year, kind=REPORT, received_on=today, today=today, now=now,
        actor=f"portal:contact:{contact_id}",
        file={"name": upload.original_name, "size_text": f"{format_size(upload.size)} ({upload.size} Bytes)",
              "sha256": upload.sha256},
    )  # fmt: skip
    upload.submitted_at = now
    record_event(
        session, now=now, actor=f"contact:{contact_id}", action="kim.portal.report_submitted", subject_type="kommune",
        subject_id=ags, year=year, payload={"upload_id": upload.id, "sha256": upload.sha256, "size": upload.size},
    )  # fmt: skip
    return outcome


@dataclass(frozen=True)
class Download:
    path: Path
    name: str
    content_type: str
    size: int
    sha256: str


def download(session: Session, *, upload_root: Path, upload_id: int, actor: str, now: datetime) -> Download:
    """The file of an upload for download (a safe name of ours); every download is an event."""
    upload = session.get(PortalUpload, upload_id)
    kommune = session.get(Kommune, upload.kommune_id) if upload is not None else None
    if upload is None or kommune is None:
        raise UseCaseError(f"Keine Datei mit der Nummer {upload_id}.")
    path = kommune_folder(upload_root, upload.year, kommune.ags) / upload.stored_name
    if not path.is_file():
        raise UseCaseError(f"Die Datei Nr. {upload_id} fehlt im Ablageordner (Sicherung zurückspielen?).")
    record_event(
        session, now=now, actor=actor, action="kim.portal.file_downloaded", subject_type="kommune",
        subject_id=kommune.ags, year=upload.year, payload={"upload_id": upload.id, "sha256": upload.sha256},
    )  # fmt: skip
    file_type = ReportFileType(upload.content_type)
    return Download(path, safe_download_name(kommune.ags, upload.year, file_type), file_type.value, upload.size,
                    upload.sha256)  # fmt: skip
