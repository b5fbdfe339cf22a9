"""The formal German salutation line: "Sehr geehrte Frau Dr. Müller," (Anrede, Titel, surname; no first name).

Without a known Anrede the line is "Guten Tag Anna Müller,", without a name "Sehr geehrte Damen und Herren,".
Names stored the old way ("Frau Dr. Anna Müller" in the name column) are understood as well.
"""

from __future__ import annotations

from collections.abc import Sequence

ANREDE_LINES = {"Frau": "Sehr geehrte Frau", "Herr": "Sehr geehrter Herr"}
# Lower-case name particles that belong to the surname ("von der Leyen", "zu Guttenberg", "van Gogh").
PARTICLES = frozenset(
    {"von", "vom", "van", "de", "der", "den", "del", "della", "di", "da", "do", "dos", "du", "le", "la", "ter", "ten"}
    | {"zu", "zum", "zur", "y", "al", "el", "bin", "ibn", "op"}
)


def salutation(name: str | None, anrede: str | None = None, titel: str | None = None) -> str:
    """The salutation line for a recipient (see the module docstring)."""
    words = (name or "").split()
    if words and anrede is None and words[0] in ANREDE_LINES and len(words) > 1:
        anrede, words = words[0], words[1:]
    name_titles, words = _leading_titles(words)
    titles = " ".join((titel or "").split()) or " ".join(name_titles)
    if not words:
        return "Sehr geehrte Damen und Herren,"
    if anrede in ANREDE_LINES:
        return f"{ANREDE_LINES[anrede]} {' '.join([*titles.split(), surname(words)])},"
    return f"Guten Tag {' '.join([*titles.split(), *words])},"


def surname(words: Sequence[str]) -> str:
    """The last word of a name with the lower-case particles before it (``"von der Leyen"``)."""
    start = len(words) - 1
    while start > 1 and words[start - 1] in PARTICLES:
        start -= 1
    if start == 1 and words[0] in PARTICLES:  # the name is only a surname, e.g. "von Weizsäcker"
        start = 0
    return " ".join(words[start:])


def _leading_titles(words: list[str]) -> tuple[list[str], list[str]]:
    """Split ``["Prof.", "Dr.", "Anna", "Müller"]`` into the academic titles and the name."""
    count = 0
    while count < len(words) - 1 and words[count].endswith(".") and words[count][0].isupper():
        count += 1
    return words[:count], words[count:]
