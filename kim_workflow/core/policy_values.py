"""Reading raw policy values (from TOML) into typed ones, and the one error type of the policy files.

Every reader takes the raw value and its dotted key path (``report.deadline_day``) and raises :class:`PolicyError`
with that path in front of a German message, so the file, section and key of a bad value can be named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, is_dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")
Reader = Callable[[Any, str], Any]
"""Reads a raw value; the second argument is its dotted key path, for the error message."""

_WHOLE_FILE = "Richtlinie"
_ERROR_PATH = re.compile(r"([A-Za-z_]\w*(?:\.\w+|\[\d+\])*): (.*)", re.DOTALL)


class PolicyError(ValueError):
    """Malformed policy data (year policy or funding rules): the one error type of the policy files.

    The message starts with the dotted path of the offending value (``report.deadline_day: ...``); ``section``
    and ``key`` are read from it. :meth:`in_file` adds the file the value came from, in German.
    """

    def __init__(self, message: str, *, path: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        match = _ERROR_PATH.fullmatch(message)
        self.path = path if path is not None else (match.group(1) if match else None)
        self.detail = match.group(2) if match and path is None else message
        self.file = file

    @property
    def section(self) -> str | None:
        """The TOML table, e.g. ``funding``; ``None`` for a problem of the whole file."""
        head = re.split(r"[.\[]", self.path or "", maxsplit=1)[0]
        return head if head and head != _WHOLE_FILE else None

    @property
    def key(self) -> str | None:
        """The key within the section, e.g. ``max_fte`` or ``series[0].title``."""
        if self.section is None or self.path is None:
            return None
        return self.path[len(self.section) :].lstrip(".") or None

    def in_file(self, file: str) -> PolicyError:
        """The same problem, its message naming ``file``, the section and the key."""
        where = f"Richtlinie {file}"
        if self.section is not None:
            where += f", Abschnitt [{self.section}]"
        if self.key is not None:
            where += f", Schlüssel {self.key}"
        return PolicyError(f"{where}: {self.detail}", path=self.path or _WHOLE_FILE, file=file)


def build(cls: type[_D], data: Mapping[str, Any], path: str, readers: dict[str, Reader]) -> _D:
    """Instantiate dataclass ``cls`` from the keys present in ``data``; missing keys take the field default."""
    check_keys(data, set(readers), path)
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in data]
    if missing:
        raise PolicyError(f"{path}: Pflichtangabe fehlt: {', '.join(missing)}")
    return cls(**{key: read(data[key], f"{path}.{key}") for key, read in readers.items() if key in data})


def check_keys(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(f"{path}: unbekannte Schlüssel {', '.join(map(repr, unknown))}")


def check_unique(values: list[Any], where: str) -> None:
    duplicates = sorted({x for x in values if values.count(x) > 1}, key=str)
    if duplicates:
        raise PolicyError(f"{where}: doppelte Werte {', '.join(map(repr, duplicates))}")


def table(x: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(x, Mapping) or not all(isinstance(k, str) for k in x):
        raise PolicyError(f"{where}: erwartet eine Tabelle, nicht {x!r}")
    return x


def items(x: Any, where: str) -> list[Any]:
    if not isinstance(x, list | tuple):
        raise PolicyError(f"{where}: erwartet eine Liste, nicht {x!r}")
    return list(x)


def integer(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise PolicyError(f"{where}: erwartet eine ganze Zahl, nicht {x!r}")
    return int(x)


def integer_in(x: Any, where: str, allowed: range | tuple[int, ...]) -> int:
    value = integer(x, where)
    if value not in allowed:
        allowed_text = f"{allowed.start} bis {allowed.stop - 1}" if isinstance(allowed, range) else allowed
        raise PolicyError(f"{where}: {x!r} ist nicht zulässig (erlaubt: {allowed_text})")
    return value


def positive(x: Any, where: str) -> int:
    value = integer(x, where)
    if value <= 0:
        raise PolicyError(f"{where}: erwartet eine positive ganze Zahl, nicht {x!r}")
    return value


def unique_integers(x: Any, where: str, read: Callable[[Any, str], int]) -> list[int]:
    values = [read(item, f"{where}[{i}]") for i, item in enumerate(items(x, where))]
    check_unique(values, where)
    return values


def days_before(x: Any, where: str) -> tuple[int, ...]:
    return tuple(sorted(unique_integers(x, where, positive), reverse=True))


def days_after(x: Any, where: str) -> tuple[int, ...]:
    return tuple(sorted(unique_integers(x, where, positive)))


def months(x: Any, where: str) -> tuple[int, ...]:
    months = sorted(unique_integers(x, where, lambda m, w: integer_in(m, w, range(1, 13))))
    if not months:
        raise PolicyError(f"{where}: mindestens ein Monat erforderlich")
    return tuple(months)


def boolean(x: Any, where: str) -> bool:
    if not isinstance(x, bool):
        raise PolicyError(f"{where}: erwartet true oder false, nicht {x!r}")
    return x


def nonempty_text(x: Any, where: str) -> str:
    if not isinstance(x, str) or not x.strip():
        raise PolicyError(f"{where}: erwartet einen nicht leeren Text, nicht {x!r}")
    return x.strip()


def enum_member(cls: type[Enum], x: Any, where: str) -> Any:
    try:
        return cls(x)
    except ValueError:
        raise PolicyError(f"{where}: {x!r} ist nicht zulässig (erlaubt: {', '.join(e.value for e in cls)})") from None


def addresses(x: Any, where: str) -> tuple[str, ...]:
    """A list of distinct email addresses (checked and normalised like a contact's)."""
    from kim_workflow.core.validation import InvalidValueError, normalise_email

    values = [nonempty_text(item, f"{where}[{i}]") for i, item in enumerate(items(x, where))]
    try:
        normalised = [normalise_email(value, field=f"{where}[{i}]") for i, value in enumerate(values)]
    except InvalidValueError as exc:
        raise PolicyError(str(exc)) from None
    check_unique([address.lower() for address in normalised], where)
    return tuple(normalised)


def day(x: Any, where: str, year: int) -> date:
    if isinstance(x, date) and not isinstance(x, datetime):
        return x
    text = f"{year}-{x[2:]}" if isinstance(x, str) and x.startswith("--") else x
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise PolicyError(f"{where}: erwartet ein Datum (JJJJ-MM-TT oder --MM-TT), nicht {x!r}")


def month_day(x: Any, where: str) -> str:
    """A day relative to the policy year, ``"--MM-DD"`` (checked against the year by the caller)."""
    if isinstance(x, str) and re.fullmatch(r"--(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", x):
        return x
    raise PolicyError(f"{where}: erwartet Monat und Tag (--MM-TT, z. B. --12-01), nicht {x!r}")


def clock_time(x: Any, where: str) -> time:
    if isinstance(x, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", x):
        return time.fromisoformat(x)
    if isinstance(x, time) and x.tzinfo is None and x.second == 0 and x.microsecond == 0:
        return x
    raise PolicyError(f"{where}: erwartet eine Uhrzeit (HH:MM), nicht {x!r}")


def json_safe(x: Any, where: str) -> Any:
    """``x`` as JSON data: dataclasses and mappings become dicts (``None`` fields dropped), dates ISO strings."""
    if is_dataclass(x) and not isinstance(x, type):
        return {f.name: json_safe(getattr(x, f.name), f.name) for f in fields(x) if getattr(x, f.name) is not None}
    if isinstance(x, Mapping):
        return {k: json_safe(val, f"{where}.{k}") for k, val in table(x, where).items()}
    if isinstance(x, list | tuple):
        return [json_safe(item, f"{where}[{i}]") for i, item in enumerate(x)]
    if isinstance(x, Enum):
        return x.value
    if isinstance(x, time) and not (x.second or x.microsecond):
        return x.isoformat(timespec="minutes")
    if isinstance(x, date | time):
        return x.isoformat()
    if x is None or isinstance(x, str | int) or (isinstance(x, float) and math.isfinite(x)):
        return x
    raise PolicyError(f"{where}: nicht unterstützter Wert {x!r}")
