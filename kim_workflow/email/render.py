"""Rendering an email (subject, plain text, HTML) from the templates shipped in ``kim_workflow/templates/emails``.

Context values are data, never templates: they are inserted, HTML-escaped in the HTML part, and never evaluated.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError
from markupsafe import Markup, escape

from kim_workflow.core.header_text import check_header_text
from kim_workflow.core.validation import InvalidValueError
from kim_workflow.email.formatting import FILTERS
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.salutation import salutation
from kim_workflow.email.specs import SPECS, kind_label
from kim_workflow.email.template_slots import SlottedText, TemplateUse, marked, plain_slots

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates" / "emails"  # package data (also ./templates/emails)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def nl2br(value: str) -> Markup:
    """Escape ``value`` and turn its line breaks into ``<br>`` (HTML only)."""
    return Markup("<br>\n").join(escape(line) for line in str(value).splitlines())


def _finalize(value: Any) -> Any:
    """Refuse to print ``None`` as "None": optional values must be guarded with ``{% if %}`` in templates."""
    if value is None:
        raise UndefinedError("a template printed None; guard optional values with {% if %}")
    return value


def _environment(templates_dir: Path, *, html: bool, timezone: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    env.filters["kind_label"] = kind_label
    env.filters["nl2br"] = nl2br if html else str
    env.globals["tz"] = timezone
    return env


class Renderer:
    """Two Jinja environments (HTML autoescaped, text not), built once and reused for every message."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, *, timezone: str = "Europe/Berlin") -> None:
        self.templates_dir = templates_dir
        self.timezone = timezone
        self._text = _environment(templates_dir, html=False, timezone=timezone)
        self._html = _environment(templates_dir, html=True, timezone=timezone)
        self._uses: dict[tuple[MessageKind, frozenset[str]], TemplateUse] = {}
        self._slotted: dict[tuple[MessageKind, str], tuple[SlottedText, SlottedText, SlottedText] | None] = {}

    def render(self, kind: MessageKind, context: Mapping[str, Any], *, varying: Collection[str] = ()) -> RenderedEmail:
        """Render ``kind``; raises ``UndefinedError`` for missing values, ``InvalidValueError`` for a bad subject.

        ``varying`` names the values that differ from one email of a batch to the next (the Kommune's name …):
        where the templates use them only as ``{{ name }}``, the templates are rendered once per set of the other
        values and these are spliced in (:mod:`~kim_workflow.email.template_slots`); the result is the same.
        """
        spec = SPECS[kind]
        missing = spec.required_context - context.keys()
        if missing:
            raise UndefinedError(f"{kind}: fehlende Kontextwerte: {', '.join(sorted(missing))}")
        line = salutation(context["recipient_name"], context.get("recipient_anrede"), context.get("recipient_titel"))
        # the portal partial asks this flag, so that the link itself is only printed bare (it can be spliced)
        data = {**context, "salutation": line, "has_portal_link": bool(context.get("portal_link"))}
        if varying:
            spliced = self._spliced(kind, data, {*varying, *_PER_RECIPIENT})
            if spliced is not None:
                return _checked(kind, spliced)
        subject_file, text_file, html_file = spec.template_files
        subject = self._text.get_template(subject_file).render(data).strip()
        _check_subject(kind, subject)
        data["subject"] = subject
        text = self._text.get_template(text_file).render(data)
        html = self._html.get_template(html_file).render(data)
        return RenderedEmail(subject=subject, text=text, html=html)

    def _spliced(self, kind: MessageKind, data: dict[str, Any], varying: set[str]) -> RenderedEmail | None:
        use = self._use(kind, frozenset(varying))
        if "subject" not in use.plain | use.unused:
            return None  # the subject is used in some other way than bare: render each email
        slots = tuple(sorted(n for n in use.plain if n == "subject" or type(data.get(n)) is str))
        fixed = sorted((k, v) for k, v in data.items() if k not in slots and k not in use.unused)
        key = (kind, repr(fixed))
        if key not in self._slotted:
            if len(self._slotted) >= _SLOTTED_MAX:
                self._slotted.clear()
            self._slotted[key] = self._slotted_templates(kind, data, slots)
        templates = self._slotted[key]
        if templates is None:
            return None
        subject_t, text_t, html_t = templates
        values = [str(data.get(n, "")) for n in slots]
        subject = subject_t.fill(tuple(values), html=False).strip()  # the subject template has no subject slot
        if "subject" in slots:
            values[slots.index("subject")] = subject
        filled = tuple(values)
        return RenderedEmail(subject=subject, text=text_t.fill(filled, html=False), html=html_t.fill(filled, html=True))

    def _use(self, kind: MessageKind, varying: frozenset[str]) -> TemplateUse:
        """Which varying names all three templates of ``kind`` use only bare; ``subject`` is one of them."""
        key = (kind, varying)
        if key not in self._uses:
            subject_file, text_file, html_file = SPECS[kind].template_files
            names = {*varying, "subject"}
            uses = [
                plain_slots(self._text, subject_file, names),
                plain_slots(self._text, text_file, names),
                plain_slots(self._html, html_file, names),
            ]
            plain = {n for n in names if all(n in u.plain or n in u.unused for u in uses)}
            unused = {n for n in names if all(n in u.unused for u in uses)}
            self._uses[key] = TemplateUse(frozenset(plain - unused), frozenset(unused))
        return self._uses[key]

    def _slotted_templates(
        self, kind: MessageKind, data: Mapping[str, Any], slots: tuple[str, ...]
    ) -> tuple[SlottedText, SlottedText, SlottedText] | None:
        subject_file, text_file, html_file = SPECS[kind].template_files
        context = marked(data, slots)
        parts = (
            SlottedText.of(self._text.get_template(subject_file).render(context), len(slots)),
            SlottedText.of(self._text.get_template(text_file).render(context), len(slots)),
            SlottedText.of(self._html.get_template(html_file).render(context), len(slots)),
        )
        subject_t, text_t, html_t = parts
        if subject_t is None or text_t is None or html_t is None:
            return None
        return subject_t, text_t, html_t


_PER_RECIPIENT = ("salutation", "recipient_name", "recipient_anrede", "recipient_titel", "subject")
_SLOTTED_MAX = 1024


def _check_subject(kind: MessageKind, subject: str) -> None:
    if not subject:
        raise InvalidValueError(f"{kind}: leerer Betreff")
    check_header_text(subject, field="Betreff")


def _checked(kind: MessageKind, rendered: RenderedEmail) -> RenderedEmail:
    _check_subject(kind, rendered.subject)
    return rendered
