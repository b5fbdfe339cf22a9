"""Turning a message kind, recipients and a context into a keyed outbox email (render apart from send)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kim_workflow.db.models import Contact
from kim_workflow.email.keys import outbox_key
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment, address_only, domain_of
from kim_workflow.email.outbox import NewEmail
from kim_workflow.email.render import Renderer
from kim_workflow.settings import Settings


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    name: str | None = None
    contact_id: int | None = None
    anrede: str | None = None  # "Frau" / "Herr" / unknown, for the salutation
    titel: str | None = None
    stored: bool = False
    """The address was read from a contact row: normalised when it was imported, so enqueue need not check it."""

    @classmethod
    def of(cls, contact: Contact) -> Recipient:
        return cls(contact.email, contact.name, contact.id, contact.anrede, contact.titel, stored=True)


@lru_cache(maxsize=4)
def _renderer(timezone: str) -> Renderer:
    return Renderer(timezone=timezone)


@dataclass(frozen=True)
class Mailer:
    """Renders and keys emails; enqueuing is the caller's (inside its transaction)."""

    settings: Settings

    @property
    def renderer(self) -> Renderer:
        return _renderer(self.settings.timezone)

    @property
    def sender_domain(self) -> str:
        return domain_of(address_only(self.settings.mail_from))

    @property
    def submission_address(self) -> str:
        return self.settings.mail_reply_to

    def key_for(
        self, kind: MessageKind, *, subject_ref: str, occasion: str, to: Sequence[Recipient],
        key_recipient: str | None = None,
    ) -> str:  # fmt: skip
        """The idempotency key :meth:`compose` gives the same email (e.g. to bind a portal link to it)."""
        return outbox_key(kind.value, subject_ref, key_recipient or to[0].address, occasion)

    def compose(
        self,
        kind: MessageKind,
        *,
        subject_ref: str,
        occasion: str,
        to: Sequence[Recipient],
        cc: Sequence[Recipient] = (),
        context: Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
        key_recipient: str | None = None,
        varying: Collection[str] = (),
    ) -> NewEmail:
        """One email to ``to[0]`` (further ``to`` and ``cc`` in Cc), keyed by kind, subject, occasion and recipient.

        ``key_recipient`` replaces the address in the key where one email per subject is wanted whoever
        receives it (e.g. one reminder per Kommune and stage). ``varying`` names the context values that differ
        from one email of a batch to the next (see :meth:`Renderer.render`).
        """
        if not to:
            raise ValueError("compose: at least one recipient")
        primary, *others = to
        person = (
            primary if len(to) == 1 else Recipient(primary.address, stored=primary.stored)
        )  # several people: no personal salutation
        rendered = self.renderer.render(
            kind,
            {
                **context,
                "recipient_name": person.name,
                "recipient_anrede": person.anrede,
                "recipient_titel": person.titel,
            },
            varying=varying,
        )
        copies = tuple(dict.fromkeys(r.address for r in [*others, *cc] if r.address != primary.address))
        return NewEmail(
            idempotency_key=self.key_for(
                kind, subject_ref=subject_ref, occasion=occasion, to=to, key_recipient=key_recipient
            ),
            kind=kind.value,
            subject_ref=subject_ref,
            recipient=primary.address,
            cc=copies,
            contact_id=primary.contact_id,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            attachments=tuple(attachments),
            addresses_normalised=all(r.stored for r in [*to, *cc]),
        )
