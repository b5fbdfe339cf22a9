"""Which refusals blame the address (RFC 3463 classes X.1 addressing and X.2 mailbox) and which the server."""

from __future__ import annotations

import pytest

from kim_workflow.core.smtp_replies import address_at_fault


@pytest.mark.parametrize(
    ("reply", "at_fault"),
    [
        ("550 5.1.1 Mailbox unavailable", True),
        ("550 5.1.10 Recipient address rejected: null MX", True),
        ("552 5.2.2 Mailbox full", True),
        ("550 User unknown", True),  # no enhanced code: the basic code is all we have
        ("451 4.2.1 Mailbox temporarily disabled", True),
        ("554 5.7.1 <a@b.example>: Relay access denied", False),
        ("550 5.7.1 Message rejected as spam", False),
        ("554 5.6.0 Content rejected", False),
        ("451 4.3.0 Temporary failure, try again later", False),
        ("451 4.7.1 Greylisted, try again later", False),
        ("550 Host 10.1.1.5 unreachable (5.4.4)", False),  # the code may stand after the text; an IP is no code
    ],
)
def test_only_refusals_about_the_address_blame_it(reply: str, at_fault: bool) -> None:
    assert address_at_fault(reply) is at_fault
