"""Text messages (SMS) behind one small interface, like Django's email backends.

SMS_BACKEND names the backend class: the console one here (it writes each message to standard output, with
the number masked but its last two digits); a provider's backend in production implements send_messages
with the provider's API. MemoryBackend keeps them in `outbox` for tests.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164, "+15550100"
    body: str


class SmsBackend(Protocol):
    """What a text-message backend does: send the messages, return how many were accepted, and raise OSError
    when the provider cannot be reached."""

    def send_messages(self, messages: list[TextMessage]) -> int: ...


def masked(number: str) -> str:
    return "•" * max(0, len(number) - 2) + number[-2:]


class ConsoleBackend:
    def send_messages(self, messages: list[TextMessage]) -> int:
        for message in messages:
            sys.stdout.write(f"SMS to {masked(message.to)}: {message.body}\n")
        sys.stdout.flush()
        return len(messages)


class MemoryBackend:
    outbox: ClassVar[list[TextMessage]] = []

    def send_messages(self, messages: list[TextMessage]) -> int:
        MemoryBackend.outbox.extend(messages)
        return len(messages)


def send_text(to: str, body: str) -> int:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend.send_messages([TextMessage(to=to, body=body)])
