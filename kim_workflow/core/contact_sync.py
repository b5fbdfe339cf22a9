"""The vocabulary of a contacts import: how a file is applied, and what happens to each contact (pure)."""

from __future__ import annotations

from enum import StrEnum


class ImportMode(StrEnum):
    MERGE = "merge"
    REPLACE = "replace"


class ChangeKind(StrEnum):
    CREATED = "neu"
    CHANGED = "geändert"
    REACTIVATED = "reaktiviert"
    DEACTIVATED = "deaktiviert (fehlt in der Datei)"
    KEPT_INACTIVE = "bleibt deaktiviert (mit --reactivate wieder aktivieren)"
