"""Loading a year's questionnaire: the ministry's ``<data dir>/questionnaires/<year>.toml``, else the shipped
``data/questionnaires/default.toml``; earlier years' files are checked so that no question id changes its type.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from kim_workflow.core.questionnaire import Questionnaire
from kim_workflow.core.questionnaire_file import QuestionnaireError, check_history, parse_questionnaire
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN

DEFAULT_LABEL = "default.toml (mitgeliefert)"


def shipped_default_text() -> str:
    return resources.files("kim_workflow.data").joinpath("questionnaires", "default.toml").read_text(encoding="utf-8")


def year_file(folder: Path | None, year: int) -> Path | None:
    """The ministry's file for ``year`` if there is one."""
    if folder is None:
        return None
    path = folder / f"{year}.toml"
    return path if path.is_file() else None


def load_questionnaire(year: int, folder: Path | None = None) -> Questionnaire:
    """The questionnaire of ``year``; raises ``QuestionnaireError`` (German, every problem with its line).

    Parsed once per version of the files (modification time and size), so an edited file applies without a restart.
    """
    return _loaded(year, folder, _versions(folder))


def _versions(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    if folder is None or not folder.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.toml")))


@lru_cache(maxsize=32)
def _loaded(year: int, folder: Path | None, versions: tuple[tuple[str, int, int], ...]) -> Questionnaire:
    del versions  # part of the cache key only
    path = year_file(folder, year)
    if path is None:
        return parse_questionnaire(shipped_default_text(), source=DEFAULT_LABEL)
    return check_file(path, folder)


def check_file(path: Path, folder: Path | None = None) -> Questionnaire:
    """Parse ``path`` (a ``<year>.toml`` is checked against that year and the earlier years' files in ``folder``,
    default: its own folder); raises ``QuestionnaireError`` listing every problem, ``OSError`` if unreadable."""
    text = path.read_text(encoding="utf-8")
    year = int(path.stem) if path.stem.isdigit() and YEAR_MIN <= int(path.stem) <= YEAR_MAX else None
    questionnaire = parse_questionnaire(text, source=str(path), year=year)
    earlier = _earlier(folder if folder is not None else path.parent, year)
    problems = check_history(questionnaire, earlier)
    if problems:
        raise QuestionnaireError(str(path), problems)
    return questionnaire


def _earlier(folder: Path, year: int | None) -> dict[int, Questionnaire]:
    """The parseable files of the years before ``year`` (all years for a file without one)."""
    found: dict[int, Questionnaire] = {}
    if not folder.is_dir():
        return found
    for path in folder.glob("*.toml"):
        stem = path.stem
        if not stem.isdigit() or (year is not None and int(stem) >= year):
            continue
        try:
            found[int(stem)] = parse_questionnaire(path.read_text(encoding="utf-8"), source=str(path))
        except (QuestionnaireError, OSError, UnicodeDecodeError):
            continue  # its own check reports it
    return found
