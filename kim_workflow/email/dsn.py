"""Reading delivery status notifications (RFC 3464): which of our messages bounced, for whom, and why.

A bounce is a ``multipart/report; report-type=delivery-status`` with a ``message/delivery-status`` part (one
block for the message, one per recipient) and usually the returned message or its headers
(``message/rfc822``, ``text/rfc822-headers``), whose ``Message-ID`` is the one the outbox row holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser

_CODE = re.compile(r"\b([245]\d\d)\b")
_RETURNED = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    address: str
    status: str  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the remote server's reply, e.g. "550 5.1.1 User unknown"

    @property
    def code(self) -> int:
        """The SMTP reply code: from the diagnostic, else from the status class (5.x.x → 550, 4.x.x → 450)."""
        found = _CODE.search(self.diagnostic)
        if found:
            return int(found.group(1))
        return 450 if self.status.startswith("4") else 550

    @property
    def reason(self) -> str:
        return self.diagnostic or f"Status {self.status}"


@dataclass(frozen=True, slots=True)
class BounceReport:
    message_ids: tuple[str, ...]  # of the message that bounced
    failed: tuple[FailedRecipient, ...]


def parse_dsn(raw: bytes) -> BounceReport | None:
    """The failed recipients of a delivery status notification; None if ``raw`` is none or reports no failure."""
    message = message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return None
    failed: list[FailedRecipient] = []
    ids: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = [b for b in part.get_payload() if isinstance(b, Message)]
            ids += [_header(blocks[0], name) for name in ("Original-Message-ID", "X-Original-Message-ID") if blocks]
            failed += [r for r in (_recipient(b) for b in blocks[1:]) if r is not None]
        elif kind in _RETURNED:
            ids.append(_returned_id(part))
    message_ids = tuple(dict.fromkeys(normalise_id(i) for i in ids if i.strip()))
    if not failed or not message_ids:
        return None
    return BounceReport(message_ids, tuple(failed))


def normalise_id(message_id: str) -> str:
    """``<local@domain>`` without surrounding space or folding."""
    text = "".join(message_id.split())
    return text if text.startswith("<") else f"<{text}>"


def _header(block: Message, name: str) -> str:
    return str(block.get(name, "") or "")


def _recipient(block: Message) -> FailedRecipient | None:
    if _header(block, "Action").strip().lower() != "failed":
        return None
    final = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
    address = final.split(";", 1)[-1].strip().strip("<>")
    if "@" not in address:
        return None
    diagnostic = _header(block, "Diagnostic-Code").split(";", 1)[-1]
    return FailedRecipient(address, _header(block, "Status").strip(), " ".join(diagnostic.split()))


def _returned_id(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        return _header(inner, "Message-ID") if inner is not None else ""
    text = part.get_payload(decode=True)
    headers = HeaderParser().parsestr(text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload))
    return _header(headers, "Message-ID")
