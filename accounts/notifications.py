"""Notices by email: one place, so that every one of them follows the rule.

They carry no health information: only that something needs the person, and
where to sign in to see it. They leave after the surrounding transaction
commits, so a rolled-back change never sends one.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction


def send_notice(*, to: str, subject: str, body: str) -> None:
    transaction.on_commit(
        lambda: send_mail(
            subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, message=body, from_email=None, recipient_list=[to]
        )
    )
