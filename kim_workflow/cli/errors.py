"""The one place where a ``kim`` command's errors become German messages and exit codes (no traceback, ever).

Exit code 2: the input (arguments, files, settings, policy files) is wrong; the message says what to change.
Exit code 1: something unexpected; one line with the path of a log file that holds the traceback.
Only the standard library and typer are imported here: ``kim --help`` stays fast.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 1
LOG_NAME = "kim-errors.log"

_CLICK_ERRORS = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")  # typer's click


class BadInput(typer.BadParameter):
    """A parameter callback's refusal; its message is German already."""


class KimGroup(TyperGroup):
    """The ``kim`` group: runs a command and turns whatever it raises into a message and an exit code."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run() -> Any:
            return super(KimGroup, self).main(
                args, prog_name, complete_var, standalone_mode=False, windows_expand_args=windows_expand_args, **extra
            )

        code = guarded(run, argv=list(args) if args is not None else sys.argv[1:])
        if standalone_mode:
            sys.exit(code)
        return code


def guarded(run: Callable[[], Any], *, argv: list[str]) -> int:
    """Run ``run`` and return the process exit code; every exception ends as a German message on stderr."""
    try:
        result = run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_UNEXPECTED)
    except KeyboardInterrupt:
        _say("Abgebrochen.")
        return 130
    except Exception as exc:
        try:
            return _report(exc, argv)
        except Exception:  # the handler itself must not show a traceback either
            _say(f"Unerwarteter Fehler ({type(exc).__name__}).")
            return EXIT_UNEXPECTED
    return result if isinstance(result, int) else 0


def _report(exc: Exception, argv: list[str]) -> int:
    if isinstance(exc, _CLICK_ERRORS):
        return _usage_error(exc)
    if type(exc).__name__ == "Abort":
        _say("Abgebrochen.")
        return EXIT_UNEXPECTED
    message = known_bad_input(exc)
    if message is not None:
        _say(f"Fehler: {message}")
        return EXIT_BAD_INPUT
    log = _log(exc, argv)
    where = f"Einzelheiten in {log}" if log else "Einzelheiten konnten nicht gespeichert werden"
    if _is_database_unreachable(exc):
        _say(f"Fehler: Die Datenbank ist nicht erreichbar (KIM_DATABASE_URL prüfen). {where}")
    else:
        _say(f"Unerwarteter Fehler ({type(exc).__name__}). {where}")
    return EXIT_UNEXPECTED


# --- bad input ------------------------------------------------------------------------------------------------


def known_bad_input(exc: BaseException) -> str | None:
    """The German message for an exception that means bad input, else ``None``."""
    from kim_workflow.core.validation import InvalidValueError
    from kim_workflow.services.errors import UseCaseError

    if isinstance(exc, (InvalidValueError, UseCaseError, *_policy_errors())):
        return str(exc)
    if _is_settings_error(exc):
        return _settings_message(exc)
    if _is_data_error(exc):  # a safety net: the input checks should have refused the value already
        return "Ein Wert passt nicht in die Datenbank (zu lang oder mit unzulässigen Zeichen); nichts gespeichert."
    if _is_bad_database_url(exc):
        return f"KIM_DATABASE_URL ist keine gültige Datenbank-Adresse ({_first_line(exc)})."
    if isinstance(exc, UnicodeDecodeError):
        return "Die Datei ist nicht UTF-8-kodiert."
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {os_reason(exc)}."
    return None


def _policy_errors() -> tuple[type[Exception], ...]:
    """Malformed policy files (year policy and funding rules share one type), if the module was loaded at all."""
    module = sys.modules.get("kim_workflow.core.policy")
    return (module.PolicyError,) if module is not None else ()


_OS_REASONS = {
    errno.ENOENT: "Datei oder Ordner existiert nicht",
    errno.EACCES: "keine Berechtigung",
    errno.EPERM: "keine Berechtigung",
    errno.EISDIR: "ist ein Ordner, keine Datei",
    errno.ENOTDIR: "ein Teil des Pfads ist kein Ordner",
    errno.EEXIST: "existiert bereits",
    errno.ENOSPC: "kein Speicherplatz mehr",
    errno.EROFS: "schreibgeschütztes Dateisystem",
    errno.ENAMETOOLONG: "Name zu lang",
}


def os_reason(exc: OSError) -> str:
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def _is_settings_error(exc: BaseException) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(exc, pydantic.ValidationError) and exc.title == "Settings"


def _settings_message(exc: Any) -> str:
    lines = [
        f"KIM_{'_'.join(str(p) for p in error['loc']).upper()}: {german_detail(error['msg'])}" for error in exc.errors()
    ]
    return "Ungültige Einstellungen: " + "; ".join(lines)


def _is_bad_database_url(exc: BaseException) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError)


def _is_data_error(exc: BaseException) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DataError)


def _is_database_unreachable(exc: BaseException) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


# --- usage errors (click's, English) --------------------------------------------------------------------------

_DETAILS = [
    (r"Input should be a valid integer.*", "erwartet eine ganze Zahl"),
    (r"Input should be a valid number.*", "erwartet eine Zahl"),
    (r"Input should be a valid boolean.*", "erwartet true oder false"),
    (r"Input should be less than or equal to (\S+?)\.?", r"höchstens \1"),
    (r"Input should be greater than or equal to (\S+?)\.?", r"mindestens \1"),
    (r"Input should be less than (\S+?)\.?", r"kleiner als \1"),
    (r"Input should be greater than (\S+?)\.?", r"größer als \1"),
    (r"(?:Value error, )?(.*) is not one of (.*?)\.?", r"\1 ist nicht zulässig (erlaubt: \2)"),
    (r"(?:file|directory|path) (.*) does not exist\.?", r"\1 existiert nicht"),
    (r"(?:file|path) (.*) is a directory\.?", r"\1 ist ein Ordner, keine Datei"),
    (r"directory (.*) is a file\.?", r"\1 ist eine Datei, kein Ordner"),
    (r"(?:file|directory|path) (.*) is not (readable|writable)\.?", r"\1 ist nicht lesbar bzw. beschreibbar"),
    (r"Value error, (.*)", r"\1"),
]


def german_detail(detail: str) -> str:
    """A German rendering of click's and pydantic's English value errors (unknown ones are kept as they are)."""
    for pattern, german in _DETAILS:
        match = re.fullmatch(pattern, detail.strip(), flags=re.DOTALL)
        if match:
            return match.expand(german)
    return detail


def _usage_error(exc: Any) -> int:
    kind = type(exc).__name__
    if kind == "NoArgsIsHelpError":
        exc.show()
        _say("Fehler: Bitte einen Befehl angeben (siehe oben).")
        return EXIT_BAD_INPUT
    message = str(getattr(exc, "message", exc))
    if isinstance(exc, BadInput):
        text = f"{_hint(exc)}: {message}"
    elif kind == "BadParameter":
        text = f"Ungültiger Wert für {_hint(exc)}: {german_detail(message)}"
    elif kind == "MissingParameter":
        text = f"Angabe fehlt: {_hint(exc)}"
    elif kind == "NoSuchOption":
        text = f"Unbekannte Option {exc.option_name}"
        if exc.possibilities:
            text += f" (meinten Sie {', '.join(sorted(exc.possibilities))}?)"
    elif kind == "BadOptionUsage" and "requires an argument" in message:
        text = f"Option {exc.option_name} braucht einen Wert"
    elif kind == "FileError":
        text = f"Datei nicht lesbar: {exc.ui_filename}"
    else:
        text = _usage_message(message)
    _say(f"Fehler: {text}.")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        _say(f"Hilfe: {ctx.command_path} --help")
    return EXIT_BAD_INPUT


def _usage_message(message: str) -> str:
    if match := re.fullmatch(r"No such command '(.*)'\.?", message):
        return f"Unbekannter Befehl {match.group(1)!r}"
    if match := re.fullmatch(r"Got unexpected extra arguments? ?(?:\(s\))? ?\((.*)\)", message):
        return f"Überzählige Angabe: {match.group(1)}"
    return f"Ungültiger Aufruf ({message.rstrip('.')})"


def _hint(exc: Any) -> str:
    param = getattr(exc, "param", None)
    if getattr(exc, "param_hint", None):
        return str(exc.param_hint)
    if param is None:
        return "Angabe"
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    return " / ".join(opts) if opts else str(getattr(param, "name", None) or "Angabe").upper()


# --- output and the error log ---------------------------------------------------------------------------------


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def log_dir() -> Path:
    """``<data dir>/logs``; the settings may be the very thing that failed, so only the data dir is read."""
    try:
        from kim_workflow.settings import load_settings

        return load_settings().data_dir / "logs"
    except Exception:
        from kim_workflow.settings import default_data_dir

        return Path(os.environ.get("KIM_DATA_DIR") or default_data_dir()) / "logs"


def _log(exc: BaseException, argv: list[str]) -> Path | None:
    text = "".join(traceback.format_exception(exc))
    entry = f"--- {datetime.now(UTC).isoformat(timespec='seconds')} kim {' '.join(argv)}\n{text}\n"
    for folder in (log_dir, lambda: Path(os.environ.get("TMPDIR", "/tmp"))):
        try:
            path = folder() / LOG_NAME
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write(entry)
            return path
        except Exception:
            continue
    return None
