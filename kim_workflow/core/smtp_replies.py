"""What a mail server's refusal says about the address (pure): RFC 3463 enhanced status codes.

A refusal marks the recipient's address as undeliverable only if it is about the address or the mailbox
(class ``X.1.X`` addressing, ``X.2.X`` mailbox) or gives no enhanced code at all. A refusal for the server's own
reasons — ``X.3`` system, ``X.4`` network and routing, ``X.5`` protocol, ``X.6`` content, ``X.7`` security and policy
(e.g. "554 5.7.1 Relay access denied" from a misconfigured relay) — says nothing about the address: marking it would
send every later email of every Kommune to the deputies. Those emails still fail and are reported to the ministry.
"""

from __future__ import annotations

import re

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_ABOUT_THE_ADDRESS = frozenset({"1", "2"})


def address_at_fault(reply: str) -> bool:
    """Whether ``reply`` (e.g. ``"550 5.1.1 Mailbox unavailable"``) blames the recipient's address or mailbox."""
    match = _ENHANCED.search(reply)
    return match is None or match.group(2) in _ABOUT_THE_ADDRESS
