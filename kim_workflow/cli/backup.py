"""``kim backup`` and ``kim restore``: the database and the data folder, saved and brought back whole."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kim_workflow.cli.common import console, settings, utc_now


def backup(
    out: Annotated[
        Path | None, typer.Option("--out", help="Zielordner (Standard: <Datenordner>/backups)", file_okay=False)
    ] = None,
) -> None:
    """Sichern: Datenbank (SQLite-Online-Sicherung bzw. pg_dump) und Datenordner (Richtlinien, Dateien)."""
    from kim_workflow.services.backup import create_backup

    config = settings()
    folder, manifest = create_backup(config, out or config.data_dir / "backups", now=utc_now())
    console.print(
        f"Sicherung {folder}: {manifest.total_rows} Datensätze in {len(manifest.rows) - 1} Tabellen "
        f"(Schema {manifest.revision}), {len(manifest.files)} Dateien.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="Ordner einer Sicherung (kim-backup-…)", file_okay=False)],
    replace: Annotated[
        bool, typer.Option("--replace", help="Eine Datenbank mit Daten und abweichende Dateien ersetzen")
    ] = False,
) -> None:
    """Wiederherstellen: prüft die Sicherung, dann Datenbank und Datenordner; vorher kim up beenden."""
    from kim_workflow.services.backup import restore_backup

    manifest = restore_backup(settings(), folder, replace=replace)
    console.print(
        f"Wiederhergestellt: {manifest.total_rows} Datensätze (Schema {manifest.revision}), "
        f"{len(manifest.files)} Dateien; Zeilenzahlen geprüft.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
