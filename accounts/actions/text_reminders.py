"""A person's mobile number and their choice of appointment reminders by text message (scheduling.reminders)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import User

if TYPE_CHECKING:
    from django.http import HttpRequest

MIN_DIGITS, MAX_DIGITS = 7, 15  # E.164 allows at most 15 digits; fewer than 7 is no one's phone
# What people type around the digits: "+1 (555) 010-0199", "555.010.0199". The + only at the start.
PHONE_AS_TYPED = re.compile(r"\+?[0-9\s().-]+")

PHONE_CHARACTERS = _("A phone number may hold only digits, spaces, dashes, dots, brackets and a + at the start.")
PHONE_LENGTH = _("A mobile number has 7 to 15 digits, with the country code: for example +1 555 010 0199.")
PHONE_NEEDED = _("Enter a mobile number to get reminders by text message.")


def normalised_phone(typed: str) -> str:
    """The number as stored and sent (digits, with the leading + if typed); ValidationError for anything else.

    Only ASCII digits count: a number sent to the SMS provider must be the one the person meant."""
    text = typed.strip()
    if not PHONE_AS_TYPED.fullmatch(text):
        raise ValidationError(PHONE_CHARACTERS, code="phone_characters")
    digits = re.sub(r"[^0-9]", "", text)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValidationError(PHONE_LENGTH, code="phone_length")
    return ("+" if text.startswith("+") else "") + digits


def _number_change(before: str, after: str) -> str:
    """How the number changed, in words fit for the audit log (which never holds the number itself)."""
    if before == after:
        return "unchanged"
    if not after:
        return "removed"
    return "added" if not before else "changed"


def set_text_reminders(*, user: User, phone: str | None, by_text: bool, request: HttpRequest | None = None) -> User:
    """Set the person's own mobile number and whether reminders come by text.

    `phone` is the number as typed; "" removes the number (and with it the texts), None keeps the one on file
    (the page never shows it, so an empty box means "no change"). Texts without a number are refused
    (ValidationError, nothing saved). The audit row says what changed, never the number."""
    new_phone = normalised_phone(phone) if phone else phone
    with transaction.atomic():
        # Locked and read again: the number kept is the one on file now, not the one the page was drawn with.
        before: str = User.objects.select_for_update().values_list("phone", flat=True).get(pk=user.pk)
        after = before if new_phone is None else new_phone
        if by_text and not after:
            raise ValidationError(PHONE_NEEDED, code="phone_needed")
        User.objects.filter(pk=user.pk).update(phone=after, reminders_by_text=by_text)
        record_audit_event(
            action=AuditAction.TEXT_REMINDERS_CHANGED,
            user=user,
            request=request,
            object_type="user",
            object_id=user.pk,
            detail={"by_text": by_text, "number": _number_change(before, after)},
        )
    user.phone, user.reminders_by_text = after, by_text
    return user
