"""Addresses as the mail system needs them: IDN domains in their ASCII form, local parts kept."""

from __future__ import annotations

import pytest

from kim_workflow.core.validation import InvalidValueError, normalise_email


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("im@münchen.de", "im@xn--mnchen-3ya.de"),
        ("im@xn--mnchen-3ya.de", "im@xn--mnchen-3ya.de"),
        ("im@XN--MNCHEN-3YA.DE", "im@xn--mnchen-3ya.de"),
        ("im@xn--mnchen-zq-q9a.de", "im@xn--mnchen-zq-q9a.de"),
        ("IM@Mainz.DE", "IM@mainz.de"),
        ("  a.b@kreis-ahrweiler.de ", "a.b@kreis-ahrweiler.de"),
        ("jürgen@münchen.de", "jürgen@xn--mnchen-3ya.de"),
    ],
)
def test_domains_are_stored_in_ascii_and_local_parts_as_given(given: str, stored: str) -> None:
    assert normalise_email(given) == stored


def test_only_a_non_ascii_local_part_leaves_the_address_non_ascii() -> None:
    assert normalise_email("im@bürgerbüro-trier.de").isascii()
    assert not normalise_email("jürgen@trier.de").isascii()


@pytest.mark.parametrize("bad", ["kein-at-zeichen", "a@b", "a@b.de\nBcc: x@y.de", "a@-x.de"])
def test_bad_addresses_are_refused_in_german(bad: str) -> None:
    with pytest.raises(InvalidValueError, match=r"ungültige E-Mail-Adresse|Steuerzeichen"):
        normalise_email(bad)
