"""The year's evaluation pack for the ministry's records: one ZIP archive, the same bytes for the same data.

Members (CSV as in :mod:`kim_workflow.services.evaluation_files`): the status matrix, grants per Kommune and the
budget, meeting attendance per Kommune, the questionnaire answers (wide table) with their codebook and summaries,
the year's event log as JSON lines without email addresses, then ``manifest.json`` (name, size and SHA-256 of each
member) and ``SHA256SUMS`` (for ``sha256sum -c``). Every member has the same fixed timestamp and mode, members are
in a fixed order, and nothing depends on the clock but the day the status is taken on (``today``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from kim_workflow import __version__
from kim_workflow.core.evaluation_tables import Table, codebook_table, data_table, summary_table
from kim_workflow.services import evaluation_pack_tables as tables
from kim_workflow.services.evaluation import evaluate_year
from kim_workflow.services.evaluation_files import table_csv
from kim_workflow.settings import Settings

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""The earliest time a ZIP can hold: the same for every member and every run."""
MANIFEST, CHECKSUMS = "manifest.json", "SHA256SUMS"


@dataclass(frozen=True)
class PackResult:
    year: int
    path: Path
    members: tuple[str, ...]
    sha256: str
    """Of the archive itself."""


def pack_name(year: int) -> str:
    return f"kim-auswertungspaket-{year}.zip"


def pack_members(session: Session, settings: Settings, *, year: int, today: date) -> dict[str, bytes]:
    """Name → bytes of every member but the manifest, in archive order."""
    evaluation = evaluate_year(session, year=year, questionnaire_dir=settings.questionnaire_dir)
    csvs: list[Table] = [
        tables.status_table(session, year=year, today=today),
        tables.grants_table(session, year=year),
        tables.budget_table(session, settings, year=year),
        tables.attendance_table(session, year=year),
    ]
    members = {f"{t.name}-{year}.csv": table_csv(t) for t in csvs}
    for table in (data_table(evaluation), codebook_table(evaluation), summary_table(evaluation)):
        members[f"fragebogen-{year}-{table.name}.csv"] = table_csv(table)
    members[f"ereignisse-{year}.jsonl"] = tables.event_log_lines(session, year=year)
    return members


def manifest(members: dict[str, bytes], *, year: int, today: date) -> dict[str, bytes]:
    """``manifest.json`` and ``SHA256SUMS`` for ``members``."""
    entries = [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in members.items()]
    document = {"jahr": year, "stand": today.isoformat(), "erzeugt_von": f"kim-workflow {__version__}",
                "dateien": entries}  # fmt: skip
    sums = "".join(f"{e['sha256']}  {e['name']}\n" for e in entries)
    return {
        MANIFEST: (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        CHECKSUMS: sums.encode("ascii"),
    }


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix: the same header on every machine
            archive.writestr(info, data, compresslevel=9)
    return out.getvalue()


def write_pack(session: Session, settings: Settings, *, year: int, out: Path, now: datetime) -> PackResult:
    """Build the pack of ``year`` (status as of ``now``'s day in the programme's time zone) into ``out``."""
    today = now.astimezone(settings.tz).date()
    members = pack_members(session, settings, year=year, today=today)
    members |= manifest(members, year=year, today=today)
    data = zip_bytes(members)
    out.mkdir(parents=True, exist_ok=True)
    path = out / pack_name(year)
    partial = path.with_suffix(".zip.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # never a half-written archive under the final name
    return PackResult(year, path, tuple(members), hashlib.sha256(data).hexdigest())
