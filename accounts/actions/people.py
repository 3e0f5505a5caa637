"""Creating charts and memberships."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import Patient, User

if TYPE_CHECKING:
    from django.http import HttpRequest


@transaction.atomic
def start_own_record(
    *, user: User, given_name: str, family_name: str, birth_date: date, request: HttpRequest | None = None
) -> Patient:
    """Give a signed-in person a chart of their own (one per login; the database enforces it)."""
    patient = Patient.objects.create(
        user=user, given_name=given_name.strip(), family_name=family_name.strip(), birth_date=birth_date
    )
    record_audit_event(
        action=AuditAction.RECORD_CREATED,
        user=user,
        subject=patient,
        basis="self",
        request=request,
        object_type="patient",
        object_id=patient.pk,
    )
    return patient
