"""Splicing varying values into one rendering gives exactly what rendering each email gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader, Environment

from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.render import Renderer
from kim_workflow.email.specs import SPECS
from kim_workflow.email.template_slots import MARKER, SlottedText, plain_slots
from kim_workflow.services.sweep_emails import PER_KOMMUNE

NAMES = ("Mainz", 'Landkreis <Süd> & "West" – Verwaltung', "Eifelkreis Bitburg-Prüm", "Stadt Zweibrücken's Amt")
PEOPLE = (("Jürgen Müller", "Herr", None), ("Dr. Ada Öztürk", "Frau", "Dr."), (None, None, None))


FREE_TEXT = ("kommune_name", "kommune", "reference", "message", "reason", "remark", "summary", "failed_subject")


def variants(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample with other Kommune names, AGS, free texts and recipients — what differs within a batch."""
    out = []
    for i, (name, (person, anrede, titel)) in enumerate(zip(NAMES, PEOPLE * 2, strict=False)):
        context = dict(sample)
        context.update({key: name for key in FREE_TEXT if isinstance(sample.get(key), str)})
        if "ags" in sample:
            context["ags"] = f"0731{i:04d}"
        context.update(recipient_name=person, recipient_anrede=anrede, recipient_titel=titel)
        out.append(context)
    return out


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_spliced_equals_rendered(kind: MessageKind) -> None:
    """Every string value of every kind's sample declared varying: same subject, text and HTML, email by email."""
    sample = dict(SPECS[kind].sample)
    varying = [key for key, value in sample.items() if isinstance(value, str)]
    spliced, direct = Renderer(), Renderer()
    for context in variants(sample):
        assert spliced.render(kind, context, varying=varying) == direct.render(kind, context)


def test_the_sweeps_reminders_are_spliced_not_rendered_again() -> None:
    """The reminder's templates use the Kommune's name, AGS and subject only bare: one rendering per group."""
    renderer = Renderer()
    kind = MessageKind.DELIVERABLE_REMINDER
    for context in variants(dict(SPECS[kind].sample)):
        renderer.render(kind, context, varying=PER_KOMMUNE)
    assert len(renderer._slotted) == 1 and None not in renderer._slotted.values()


def env(**templates: str) -> Environment:
    return Environment(loader=DictLoader(templates), autoescape=True)


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("Hallo {{ name }}, {{ name }}!", {"name"}),
        ("{{ name|upper }}", set()),
        ("{{ name ~ '!' }}", set()),
        ("{% if name %}{{ name }}{% endif %}", set()),
        ("{% for c in name %}{{ c }}{% endfor %}", set()),
        ("{% set name = 'x' %}{{ name }}", set()),
        ("{{ m.link(name) }}{% import 'macros' as m %}", set()),
        ("{% include 'part' %}", {"name"}),
        ("{% include 'filtered' %}{{ name }}", set()),
        ("{% extends 'base' %}{% block b %}{{ name }}{% endblock %}", {"name"}),
        ("{% import 'macros' as m %}{{ name }}{{ m.link('x') }}", {"name"}),
        ("{% include some_variable %}{{ name }}", set()),
    ],
)
def test_only_bare_uses_everywhere_make_a_slot(source: str, plain: set[str]) -> None:
    environment = env(
        main=source,
        part="<p>{{ name }}</p>",
        filtered="{{ name|title }}",
        base="<b>{{ name }}</b>{% block b %}{% endblock %}",
        macros="{% macro link(x) %}<a>{{ x }}</a>{% endmacro %}",
    )
    use = plain_slots(environment, "main", ["name", "unused"])
    assert use.plain == plain
    assert use.unused == (set() if "some_variable" in source else {"unused"})  # unknown template: nothing proven


def test_a_changed_marker_refuses_splicing() -> None:
    marker = MARKER.format(0)
    assert SlottedText.of(f"a {marker} b {marker}", 1) == SlottedText(("a ", 0, " b ", 0))
    assert SlottedText.of(f"a {marker.upper()} b", 1) is None
    assert SlottedText.of(f"a {marker} b {marker.lower()}", 1) is None
    ten = MARKER.format(10)
    assert SlottedText.of(f"{MARKER.format(1)}{ten}", 11) == SlottedText((1, 10))


def test_html_values_are_escaped_text_values_are_not(tmp_path: Path) -> None:
    slotted = SlottedText(("<p>", 0, "</p>"))
    assert slotted.fill(("<b>&</b>",), html=True) == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"
    assert slotted.fill(("<b>&</b>",), html=False) == "<p><b>&</b></p>"
