"""Questions for the provider from the person's journal (the records pages keep it; scheduling does not read
records): the portal shell registers the reader at start-up (portal.apps)."""

from __future__ import annotations

from collections.abc import Callable

from accounts.actors import Actor

# Each reader gives the open questions the person wrote down for their next visit, newest first.
QUESTION_READERS: list[Callable[[Actor], list[str]]] = []

SUGGESTED_QUESTIONS = 5


def journal_questions(actor: Actor) -> list[str]:
    """The open questions to offer on a booking (none without a reader, or without the records scope)."""
    found: list[str] = []
    for reader in QUESTION_READERS:
        found.extend(reader(actor))
    return found[:SUGGESTED_QUESTIONS]
