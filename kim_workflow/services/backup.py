"""Backups of kim-workflow: the database and the data folder (policies, uploaded files) in one folder.

A backup folder holds ``manifest.json`` (revision, row counts per table, every file with its size and SHA-256),
the database file (``db/backup.py``) and ``files/`` (the data folder without what is rebuilt or transient:
Prefect's home, logs, the local mail sink, the SQLite database itself). A restore checks the backup first, refuses
a target that already holds data (unless told to replace it), and compares the restored row counts with the
manifest; nothing is changed when a check fails.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from kim_workflow import __version__
from kim_workflow.db import backup as database
from kim_workflow.db.engine import make_engine
from kim_workflow.services.errors import UseCaseError
from kim_workflow.settings import Settings

MANIFEST = "manifest.json"
FILES = "files"
FORMAT = 1
EXCLUDED = frozenset({"prefect", "logs", "mail", "backups"})  # rebuilt, transient, or the backups themselves
_SQLITE_SUFFIXES = ("", "-wal", "-shm", ".restoring")


class BackupError(UseCaseError):
    """A backup that cannot be made or restored (German message); nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    kim_version: str
    dialect: str
    revision: str | None
    database_file: str
    rows: dict[str, int]
    files: dict[str, dict[str, int | str]] = field(default_factory=dict)  # relative path -> size, sha256

    @property
    def total_rows(self) -> int:
        return sum(count for table, count in self.rows.items() if table != "alembic_version")


def create_backup(settings: Settings, target: Path, *, now: datetime) -> tuple[Path, Manifest]:
    """Write a new backup folder below ``target`` (``kim-backup-<UTC time>``); return it and its manifest."""
    folder = target / f"kim-backup-{now.strftime('%Y%m%dT%H%M%SZ')}"
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise BackupError(f"{folder} gibt es schon; bitte kurz warten oder einen anderen Ordner wählen.") from None
    except OSError as exc:
        raise BackupError(f"Sicherungsordner {folder} lässt sich nicht anlegen: {exc.strerror}") from None
    engine = make_engine(settings.database_url)
    try:
        database_file = database.dump(settings.database_url, folder)
        rows, revision = database.row_counts(engine), database.revision(engine)
    except database.DatabaseBackupError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise BackupError(str(exc)) from None
    finally:
        engine.dispose()
    files: dict[str, dict[str, int | str]] = {}
    for relative, source in _data_files(settings):
        copy = folder / FILES / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
        files[relative] = {"size": copy.stat().st_size, "sha256": _sha256(copy)}
    dialect = engine.dialect.name
    manifest = Manifest(FORMAT, now.isoformat(), __version__, dialect, revision, database_file, rows, files)
    (folder / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2, ensure_ascii=False), encoding="utf-8")
    return folder, manifest


def read_backup(folder: Path) -> Manifest:
    """The manifest of a complete, unaltered backup; ``BackupError`` naming the first problem otherwise."""
    try:
        manifest = Manifest(**json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise BackupError(f"{folder} ist keine Sicherung (es fehlt {MANIFEST}).") from None
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{folder / MANIFEST} ist beschädigt: {exc}") from None
    if manifest.format != FORMAT:
        raise BackupError(f"Sicherungsformat {manifest.format} wird nicht unterstützt (erwartet {FORMAT}).")
    if not (folder / manifest.database_file).is_file():
        raise BackupError(f"Die Datenbankdatei {manifest.database_file} fehlt in der Sicherung.")
    for relative, expected in manifest.files.items():
        path = folder / FILES / relative
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupError(f"Datei {relative} der Sicherung fehlt oder wurde verändert.")
    return manifest


def restore_backup(settings: Settings, folder: Path, *, replace: bool = False) -> Manifest:
    """Restore ``folder`` into the configured database and data folder; check the row counts afterwards."""
    manifest = read_backup(folder)
    engine = make_engine(settings.database_url)
    try:
        present = database.row_counts(engine)
        if manifest.dialect != engine.dialect.name:
            raise BackupError(f"Die Sicherung stammt aus {manifest.dialect}, das Ziel ist {engine.dialect.name}.")
        held = sum(count for table, count in present.items() if table != "alembic_version")
        if held and not replace:
            raise BackupError(
                f"Die Zieldatenbank enthält schon {held} Zeilen; zum Ersetzen --replace angeben (vorher sichern!)."
            )
        conflicts = [rel for rel, _ in _incoming(folder, manifest, settings) if (settings.data_dir / rel).exists()]
        if conflicts and not replace:
            raise BackupError(f"Im Datenordner weichen {len(conflicts)} Dateien ab, z. B. {conflicts[0]} (--replace).")
    finally:
        engine.dispose()
    try:
        database.restore(settings.database_url, folder / manifest.database_file, replace_existing=bool(present))
    except database.DatabaseBackupError as exc:
        raise BackupError(str(exc)) from None
    for relative, source in _incoming(folder, manifest, settings):
        target = settings.data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _check_restored(settings, manifest)
    return manifest


def _check_restored(settings: Settings, manifest: Manifest) -> None:
    engine = make_engine(settings.database_url)
    try:
        restored = database.row_counts(engine)
    finally:
        engine.dispose()
    wrong = [table for table, count in manifest.rows.items() if restored.get(table) != count]
    if wrong:
        raise BackupError(f"Nach der Wiederherstellung stimmen die Zeilen nicht: {', '.join(wrong)}")


def _incoming(folder: Path, manifest: Manifest, settings: Settings) -> Iterator[tuple[str, Path]]:
    """The backup's files that differ from (or are missing in) the data folder."""
    for relative, expected in manifest.files.items():
        target = settings.data_dir / relative
        if not target.is_file() or _sha256(target) != expected["sha256"]:
            yield relative, folder / FILES / relative


def _data_files(settings: Settings) -> Iterator[tuple[str, Path]]:
    """Every file of the data folder but the excluded folders and the SQLite database (saved on its own)."""
    root = settings.data_dir.resolve()
    database_file = database.sqlite_file(settings.database_url)
    skip = {database_file.with_name(database_file.name + end) for end in _SQLITE_SUFFIXES} if database_file else set()
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in EXCLUDED and path not in skip:
            yield relative.as_posix(), path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
