"""Pre-visit check-in: confirming what the clinic holds, and filling the visit's forms (scheduling.questionnaires).

Open from the booking until the visit starts, for anyone acting for the person with the scheduling scope. A form
is filled once (answered again, it replaces the earlier answers until the visit starts). The answers go to the
care team; the patient's side sees that a form was sent, not its score.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from scheduling.actions import BookingError, audit_visit
from scheduling.models import Appointment, CheckIn, FormResponse
from scheduling.questionnaires import FORMS, VALUES, questionnaire_response, score


def _open(appointment: Appointment) -> None:
    if not appointment.holds_time or appointment.starts_at <= timezone.now():
        raise BookingError(_("Check-in is closed for this visit."))


def check_in(
    *,
    actor: Actor,
    appointment: Appointment,
    details_unchanged: bool,
    insurance_unchanged: bool,
    medicines_unchanged: bool,
    changes: str,
    request: HttpRequest | None = None,
) -> CheckIn:
    _open(appointment)
    if not (details_unchanged and insurance_unchanged and medicines_unchanged) and not changes.strip():
        raise BookingError(_("Say what changed, or confirm that nothing did."))
    user = actor.user
    with transaction.atomic():
        done, _created = CheckIn.objects.update_or_create(
            appointment=appointment,
            defaults={
                "details_unchanged": details_unchanged,
                "insurance_unchanged": insurance_unchanged,
                "medicines_unchanged": medicines_unchanged,
                "changes": changes.strip()[:2000],
                "by": user,
                "by_name": (user.full_name or user.email) if user else "",
                "at": timezone.now(),
            },
        )
        audit_visit(AuditAction.APPOINTMENT_CHECKED_IN, actor=actor, appointment=appointment, request=request)
    return done


def fill_form(
    *,
    actor: Actor,
    appointment: Appointment,
    form_key: str,
    answers: dict[str, str],
    request: HttpRequest | None = None,
) -> FormResponse:
    """Stores the answers (every item answered with one of the instrument's answers) with their score."""
    _open(appointment)
    form = FORMS.get(form_key)
    if form is None or form_key not in appointment.visit_type.forms:
        raise BookingError(_("This visit has no such form."))
    missing = [item for item in form.items if answers.get(item.link_id) not in VALUES]
    if missing:
        raise BookingError(_("Answer every question, please."))
    with translation.override("en"):  # kept in English words; each reader sees them in their own language
        result = score(form, answers)
    user = actor.user
    resource = questionnaire_response(
        form, answers, patient_id=str(appointment.patient_id), authored=timezone.now().isoformat(timespec="seconds")
    )
    with transaction.atomic():
        response, _created = FormResponse.objects.update_or_create(
            appointment=appointment,
            form=form.key,
            defaults={
                "response": resource,
                "total": result.total,
                "severity": result.severity,
                "flagged": result.flagged,
                "by": user,
                "by_name": (user.full_name or user.email) if user else "",
                "at": timezone.now(),
            },
        )
        audit_visit(
            AuditAction.APPOINTMENT_FORM_FILLED,
            actor=actor,
            appointment=appointment,
            request=request,
            detail={"form": form.key},
        )
    return response
