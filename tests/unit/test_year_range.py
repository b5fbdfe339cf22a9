"""The funding-year range is stated once, in ``core/years.py``; every entry point reads it from there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

ROOT = Path(__file__).resolve().parents[2]
RESTATEMENT = re.compile(rf"\b(?:{YEAR_MAX}|{YEAR_MAX + 1})\b|(?:ge|min|>=)\s*=?\s*{YEAR_MIN}\b")


def test_no_module_restates_the_year_range() -> None:
    sources = [*(ROOT / "kim_workflow").rglob("*.py"), *(ROOT / "flows").rglob("*.py")]
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        if path != ROOT / "kim_workflow" / "core" / "years.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if RESTATEMENT.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("year", [YEAR_MIN - 1, YEAR_MAX + 1])
def test_the_form_year_uses_the_range(year: int) -> None:
    from kim_workflow.orchestration.forms import Year

    adapter: TypeAdapter[int] = TypeAdapter(Year)
    assert adapter.validate_python(YEAR_MIN) == YEAR_MIN and adapter.validate_python(YEAR_MAX) == YEAR_MAX
    with pytest.raises(ValidationError):
        adapter.validate_python(year)
