"""Jinja filters of the portal pages (German dates in the configured time zone, sizes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.upload_rule import format_size

MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")  # fmt: skip


def filters_for(tz: ZoneInfo) -> dict[str, Callable[..., Any]]:
    def date_long(value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(tz).date()
        return f"{value.day}. {MONTHS[value.month - 1]} {value.year}"

    def moment(value: datetime) -> str:
        local = value.astimezone(tz)
        return f"{date_long(local)}, {local:%H:%M} Uhr"

    def deliverable_label(kind: DeliverableKind | str) -> str:
        return DeliverableKind(kind).label_de

    return {"date_long": date_long, "moment": moment, "size": format_size, "deliverable_label": deliverable_label}
