"""A grammar of every ``kim`` command's arguments and input files for the fuzz tests (hypothesis strategies).

Values mix valid ones (so commands get past parsing and reach the use cases) with hostile ones: control and
invisible characters, NUL, huge numbers, wrong date forms, paths that are missing, folders or files.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

MAINZ = "07315000"
NASTY = ["\r\n", "\n", "\x00", "\u202e", "\u200b", "[/]", "[bold]", "{{ 7*7 }}", "ä", "'", '"', ",", ";", " ", "",
         "-1", "0", "9" * 25, "--help", "x" * 1200, "=?utf-8?q?X=0D=0ABcc:_evil@evil.example?="]  # fmt: skip
nasty = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=4).map("".join)
text = st.one_of(st.sampled_from(["Krankheit", "Vernetzungstreffen", "Raum 1"]), nasty)
ags = st.one_of(st.sampled_from([MAINZ, "07111000", "99999999", "0731500"]), nasty)
year = st.one_of(st.sampled_from(["2026", "2027", "1999", "2101"]), st.integers(-(2**70), 2**70).map(str), nasty)
day = st.one_of(
    st.sampled_from(["2026-11-01", "2026-12-20", "2027-01-31", "2099-12-31", "9999-12-31", "1900-01-01",
                     "20261215", "2026-02-30", ""]),
    st.dates().map(lambda d: d.isoformat()),
    nasty,
)  # fmt: skip
moment = st.one_of(
    st.sampled_from(
        ["2026-11-20 10:00", "2026-11-20 12:00", "2026-03-29 02:30", "9999-12-31 23:59", "0001-01-01 00:00"]
    ),
    st.datetimes().map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
    nasty,
)
number = st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(["1", "2", "3", "1e9", "NaN"]), nasty)
amount = st.one_of(st.sampled_from(["45000", "45000.50", "-1", "1e400", "NaN", "Infinity", "45.000,00"]), nasty)
email = st.one_of(st.sampled_from(["im@mainz.example", "nobody@x.example", "a@b"]), nasty)
kind = st.one_of(st.sampled_from(["annual_report", "questionnaire"]), nasty)
meeting_type = st.one_of(st.sampled_from(["vernetzungstreffen", "arbeitstreffen", "other"]), nasty)
organiser = st.one_of(st.sampled_from(["fachreferat", "dbki"]), nasty)
status = st.one_of(st.sampled_from(["failed", "unknown", "pending", "sent"]), nasty)
ags_list = st.one_of(st.sampled_from([MAINZ, f"{MAINZ},07111000", "", ","]), nasty)
flag = st.just(None)  # an option without a value
username = st.one_of(st.sampled_from(["anna.mueller", "referat724", ""]), nasty)

VALID_APPLICATION: dict[str, Any] = {
    "ags": MAINZ, "year": 2026, "staff": [{"name": "Erika Muster", "fte": 1}], "personnel_costs_eur": 60000,
    "material_costs_eur": 12000.5, "overhead_costs_eur": 0, "position_in_administration": True, "notes": "Stelle",
}  # fmt: skip
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), nasty),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(nasty, inner, max_size=3)),
    max_leaves=6,
)
application = st.one_of(
    st.fixed_dictionaries({}).flatmap(
        lambda _: st.dictionaries(st.sampled_from(sorted(VALID_APPLICATION)), json_value, max_size=3).map(
            lambda changes: json.dumps({**VALID_APPLICATION, **changes}, ensure_ascii=False)
        )
    ),
    nasty,
    st.just(json.dumps(VALID_APPLICATION)),
)
contacts_csv = st.lists(
    st.tuples(ags, text, email, st.one_of(st.sampled_from(["integration_manager", "deputy", "dbki"]), nasty)),
    max_size=3,
).map(lambda rows: "ags,name,email,role\n" + "\n".join(",".join(row) for row in rows))
file_bytes = st.one_of(st.binary(max_size=200), nasty.map(lambda t: t.encode("utf-8", "surrogatepass")))

_names = itertools.count()


def in_file(content: st.SearchStrategy[Any], folder: Path, *, odd: bool = True) -> st.SearchStrategy[str]:
    """A path: a file with generated content, or one that does not exist, is a folder, or lies below a file."""

    def write(value: str | bytes) -> str:
        path = folder / f"input-{next(_names)}"
        if isinstance(value, str):
            path.write_text(value, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(value)
        return str(path)

    paths = st.sampled_from([str(folder / "missing.json"), str(folder), str(folder / "input-0" / "sub"), ""])
    return st.one_of(content.map(write), paths) if odd else content.map(write)


def out_path(folder: Path) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [*(str(folder / f"out-{n}") for n in range(3)), str(folder / "no" / "x.csv"), str(folder / "input-0" / "s")]
    )


Spec = dict[str, st.SearchStrategy[Any]]
"""Option name → value strategy; ``"#1"``, ``"#2"`` … are positional arguments."""


def commands(folder: Path) -> dict[str, Spec]:
    """Every ``kim`` command that runs in-process (``SERVING`` ones start servers or workers: only parsing fuzzed)."""
    agenda = in_file(nasty, folder)
    return {
        "db current": {},
        "db upgrade": {},
        "seed": {},
        "kommunen list": {},
        # Only existing files: the command's own read errors are the contacts import's (another branch) to word.
        "contacts import": {"#1": in_file(st.one_of(contacts_csv, file_bytes), folder, odd=False), "--actor": text},
        "contacts deactivate": {"#1": email, "--actor": text},
        "contacts activate": {"#1": email},
        "contacts list": {},
        "cycle open": {"--year": year, "--actor": text},
        "submission record": {"--ags": ags, "--year": year, "--kind": kind, "--received-on": day, "--actor": text},
        "deadline extend": {"--ags": ags, "--year": year, "--until": day, "--reason": text, "--actor": text},
        "status": {"--year": year, "--csv": out_path(folder)},
        "sweep": {"--today": day, "--dry-run": flag},
        "application submit": {"#1": in_file(st.one_of(application, file_bytes), folder), "--json": flag,
                               "--actor": text},
        "application decide": {"--ags": ags, "--year": year, "--approve": flag, "--reject": flag,
                               "--request-changes": flag, "--personnel": amount, "--material": amount,
                               "--message": text, "--reason": text, "--actor": text},
        "application list": {"--year": year, "--json": flag},
        "application withdraw": {"#1": ags, "--year": year, "--reason": text, "--actor": text},
        "application amend": {"--ags": ags, "--year": year, "--personnel": amount, "--material": amount,
                              "--reason": text, "--budget-override": text, "--actor": text},
        "application revoke": {"--ags": ags, "--year": year, "--effective": day, "--reason": text, "--actor": text},
        "application confirm": {"#1": number, "--by": text, "--reject": flag, "--reason": text},
        "application pending": {"--year": year, "--json": flag},
        "meeting add": {"--type": meeting_type, "--title": text, "--start": moment, "--end": moment,
                        "--location": text, "--video-link": st.one_of(st.just("https://meet.example/k"), nasty),
                        "--agenda": text, "--agenda-file": agenda, "--organiser": organiser, "--kommunen": ags_list,
                        "--actor": text},
        "meeting series": {"--year": year},
        "meeting move": {"#1": number, "--start": moment, "--end": moment, "--location": text},
        "meeting cancel": {"#1": number, "--reason": text},
        "meeting decline": {"#1": number, "--email": email, "--undo": flag},
        "meeting attendance": {"#1": number, "--present": ags_list, "--absent": ags_list},
        "meeting minutes": {"#1": number, "--file": in_file(file_bytes, folder), "--link": text, "--summary": text},
        "meeting notify": {"#1": number},
        "meeting reminders": {"--today": day, "--dry-run": flag},
        "meeting list": {"--year": year},
        "outbox list": {"--status": status, "--limit": number},
        "outbox dispatch": {"--limit": number},
        "outbox resend": {"#1": number, "#2": number},
        "outbox dismiss": {"#1": number},
        "emails preview": {"--out": out_path(folder)},
        "questionnaire show": {"--year": year},
        "questionnaire check": {"#1": in_file(st.one_of(nasty, file_bytes), folder)},
        "questionnaire answers": {"--year": year, "--ags": ags},
        "questionnaire workbook": {"--year": year, "--ags": ags, "--out": out_path(folder)},
        "questionnaire import": {"#1": in_file(file_bytes, folder), "#2": in_file(file_bytes, folder), "--actor": text},
        "questionnaire correct": {"--year": year, "--ags": ags, "--reason": text, "--actor": text,
                                  "--set": st.one_of(st.sampled_from(["gremien.netzwerkrunden=7", "x", "=1"]), nasty)},
        "evaluation": {"--year": year, "--compare": year, "--out": out_path(folder)},
        "evaluation pack": {"--year": year, "--out": out_path(folder)},
        "backup": {"--out": st.sampled_from([str(folder / "backups"), str(folder / "backups-2")])},
        "restore": {"#1": st.one_of(out_path(folder), in_file(file_bytes, folder)), "--replace": flag},
        "simulate": {"--year": year, "--kommunen": number, "--smtp-port": number, "--keep-open": flag,
                     "--evaluation-out": out_path(folder),
                     "--help": flag},
        "up": {"--port": number, "--help": flag},
        "retention apply": {"--today": day, "--dry-run": flag},
        "deploy": {"--help": flag},
        "relay": {"--help": flag},
        "worker": {"--pool": text, "--name": text, "--limit": number, "--help": flag},
        "portal": {"--host": text, "--port": number, "--help": flag},
        "portal user add": {"#1": username, "--name": text, "--password-stdin": flag, "--actor": text},
        "portal user password": {"#1": username, "--password-stdin": flag, "--actor": text},
        "portal user deactivate": {"#1": username, "--actor": text},
        "portal user list": {},
        "submission show": {"--ags": ags, "--year": year},
        "submission download": {"--ags": ags, "--year": year, "--out": out_path(folder), "--actor": text},
    }  # fmt: skip


SERVING = ("simulate", "up", "deploy", "worker", "relay", "portal")


def arguments(name: str, spec: Spec) -> st.SearchStrategy[list[str]]:
    """The command's words, each option present or not (a few required ones mostly present), maybe a stray word."""
    required = {"--year", "--ags", "--kind", "--received-on", "--until", "--reason", "--type", "--title", "--start",
                "--end", "#1", "--help"}  # fmt: skip

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> list[str]:
        words = name.split()
        for option, values in spec.items():
            if not draw(st.booleans()) and not (option in required and draw(st.integers(0, 9)) > 0):
                continue
            value = draw(values)
            if option.startswith("#"):
                words.append(str(value))
            elif value is None:
                words.append(option)
            else:
                words += [option, str(value)]
        if name in SERVING and "--help" not in words:
            words.append("--no-such-option")  # never start a year, a server or a worker: parsing only
        if name != "contacts import" and draw(st.integers(0, 19)) == 0:
            words.append(draw(st.sampled_from(["extra", "--no-such-option", "-x", "--"])))
        return words

    return build()
