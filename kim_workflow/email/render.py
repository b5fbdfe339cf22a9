"""Rendering an email (subject, plain text, HTML) from the templates shipped in ``kim_workflow/templates/emails``.

Context values are data, never templates: they are inserted, HTML-escaped in the HTML part, and never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    def render(self, kind: MessageKind, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``kind``; raises ``UndefinedError`` for missing values, ``InvalidValueError`` for a bad subject."""
        spec = SPECS[kind]
        missing = spec.required_context - context.keys()
        if missing:
            raise UndefinedError(f"{kind}: fehlende Kontextwerte: {', '.join(sorted(missing))}")
        line = salutation(context["recipient_name"], context.get("recipient_anrede"), context.get("recipient_titel"))
        data = {**context, "salutation": line}
        subject_file, text_file, html_file = spec.template_files
        subject = self._text.get_template(subject_file).render(data).strip()
        if not subject:
            raise InvalidValueError(f"{kind}: leerer Betreff")
        check_header_text(subject, field="Betreff")
        data["subject"] = subject
        text = self._text.get_template(text_file).render(data)
        html = self._html.get_template(html_file).render(data)
        return RenderedEmail(subject=subject, text=text, html=html)
