"""The messages card of the family view and the dashboard: new replies from a care team, per person."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.urls import reverse
from django.utils.translation import ngettext

from messaging.selectors import unread_by_subject
from proxy.attention import AttentionItem, attention_provider

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@attention_provider
def new_replies(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """Threads with a reply the viewer has not read yet, counted for everyone at once (one query)."""
    return {
        patient_id: [
            AttentionItem(
                kind="new_message_replies",
                text=ngettext(
                    "%(count)s new reply from the care team.", "%(count)s new replies from the care team.", count
                )
                % {"count": count},
                # The family view opens it for the right person (switching first when needed).
                url=reverse("messaging:inbox"),
            )
        ]
        for patient_id, count in unread_by_subject(actor, subjects).items()
        if count
    }
