"""Whether a database is at the newest schema, without importing Alembic (~0.3 s): every ``kim`` command asks.

Reads the ``revision``/``down_revision`` lines of the shipped migration files; a test holds it equal to Alembic's
own answer (:func:`kim_workflow.db.migrate.head_revision`).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"'](\w+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def head_revisions() -> set[str]:
    """The revisions no other migration builds on."""
    revisions: set[str] = set()
    bases: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if match := _REVISION.search(text):
            revisions.add(match[1])
        if match := _DOWN_REVISION.search(text):
            bases.update(re.findall(r"[\"'](\w+)[\"']", match[1]))
    return revisions - bases


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return set()
        return {row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version"))}


def is_at_head(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
