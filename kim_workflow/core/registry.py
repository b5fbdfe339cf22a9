"""The 36 Kommunen as plain records, parsed from the package's reference CSV text."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from kim_workflow.core.domain import KommuneKind
from kim_workflow.core.validation import check_ags


@dataclass(frozen=True, slots=True)
class KommuneRecord:
    ags: str
    name: str
    kind: KommuneKind


def parse_kommunen(text: str) -> list[KommuneRecord]:
    """Parse ``ags,name,kind`` rows; raise ``ValueError`` on any malformed row or duplicate AGS."""
    records = [
        KommuneRecord(ags=check_ags(row["ags"]), name=row["name"].strip(), kind=KommuneKind(row["kind"]))
        for row in csv.DictReader(io.StringIO(text))
    ]
    if len({r.ags for r in records}) != len(records):
        raise ValueError("duplicate AGS in the Kommunen list")
    return records


def display_name(name: str, kind: KommuneKind) -> str:
    """How emails name a Kommune: "Landkreis Kusel", "Stadt Mainz", but "Westerwaldkreis" as it is."""
    if kind is KommuneKind.KREISFREIE_STADT:
        return f"Stadt {name}"
    return name if name.lower().endswith("kreis") or "kreis " in name.lower() else f"Landkreis {name}"
