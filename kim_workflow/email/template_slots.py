"""Rendering many emails of one kind that differ only in a few plain values: the templates once, the values spliced in.

A daily sweep renders the same reminder for thousands of Kommunen; only the name, the AGS, the salutation and the
subject differ. A value may be spliced into a rendered template instead of rendering it again when every use of it
in the template (its parents and includes) is a bare ``{{ name }}`` — no filter, test, condition, loop or macro
argument touches it — so the output is the template's text with ``escape(value)`` (HTML) or ``value`` (text) at
those places. :func:`plain_slots` decides that from the parsed templates; :class:`SlottedText` holds a rendering
with markers in place of the values and splices them in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from jinja2 import Environment, nodes
from markupsafe import escape

MARKER = "kImSlOt{}x"
"""Letters and digits only (escaping leaves them alone); mixed case, so a filter that changed one is detected."""
_MARKER_STEM = "kimslot"


@dataclass(frozen=True, slots=True)
class TemplateUse:
    """How one template tree uses some names: only as bare output, or also otherwise."""

    plain: frozenset[str]
    """Used, and only as ``{{ name }}``."""
    unused: frozenset[str]
    """Not referenced at all."""


def plain_slots(env: Environment, template: str, names: Collection[str]) -> TemplateUse:
    """Which of ``names`` ``template`` (with what it extends and includes) uses only as ``{{ name }}``."""
    bare: dict[str, int] = dict.fromkeys(names, 0)
    total: dict[str, int] = dict.fromkeys(names, 0)
    tainted: set[str] = set()
    for tree in _trees(env, template, set()):
        if tree is None:  # a template named by an expression: nothing can be proven
            return TemplateUse(frozenset(), frozenset())
        for name in tree.find_all(nodes.Name):
            if name.name in total:
                total[name.name] += 1
                if name.ctx != "load":
                    tainted.add(name.name)
        for output in tree.find_all(nodes.Output):
            for child in output.nodes:
                if isinstance(child, nodes.Name) and child.name in bare:
                    bare[child.name] += 1
    plain = {n for n in names if total[n] and total[n] == bare[n] and n not in tainted}
    return TemplateUse(frozenset(plain), frozenset(n for n in names if not total[n]))


def _trees(env: Environment, template: str, seen: set[str]) -> Iterator[nodes.Template | None]:
    if template in seen:
        return
    seen.add(template)
    assert env.loader is not None
    source = env.loader.get_source(env, template)[0]
    tree = env.parse(source)
    yield tree
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        if isinstance(node, nodes.Import | nodes.FromImport) and not node.with_context:
            continue  # a macro imported without context cannot see the context's values
        target = getattr(node, "template", None)  # every one of these four node types names its template
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            yield None
            return
        yield from _trees(env, target.value, seen)


@dataclass(frozen=True, slots=True)
class SlottedText:
    """A rendering with markers: literal pieces and, between them, the index of the slot that goes there."""

    pieces: tuple[str | int, ...]

    @classmethod
    def of(cls, rendered: str, slots: int) -> SlottedText | None:
        """Split ``rendered`` at the markers; None if something changed a marker (then render each email)."""
        markers = {MARKER.format(i): i for i in range(slots)}
        found = sum(rendered.count(marker) for marker in markers)
        if rendered.lower().count(_MARKER_STEM) != found:
            return None
        pieces: list[str | int] = []
        rest = rendered
        while True:
            at = [(rest.find(m), m) for m in markers if m in rest]
            if not at:
                pieces.append(rest)
                return cls(tuple(p for p in pieces if p != ""))
            index, marker = min(at)
            pieces += [rest[:index], markers[marker]]
            rest = rest[index + len(marker) :]

    def fill(self, values: tuple[str, ...], *, html: bool) -> str:
        """The text with ``values`` spliced in, escaped as autoescaping would for the HTML part."""
        given = tuple(str(escape(v)) for v in values) if html else values
        return "".join(given[p] if isinstance(p, int) else p for p in self.pieces)


def marked(context: Mapping[str, object], slots: tuple[str, ...]) -> dict[str, object]:
    """``context`` with a marker in place of each slot's value."""
    return {**context, **{name: MARKER.format(i) for i, name in enumerate(slots)}}
