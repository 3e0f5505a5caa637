"""Booking on a patient's behalf at the desk (a phone call, a visit to the front desk).

Find the patient (name or MRN, the desk's patients only), choose the kind of visit (online or not), a provider or
anyone, a way and a day; pick a free time and book it. Staff may book inside the online notice and any kind of
visit the organization offers; the database still refuses a taken time, as for patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format, time_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import access_patient_by_id
from accounts.actions.audit import record_audit_events
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from scheduling import desk
from scheduling.access import (
    SCHEDULE_ROLES,
    access_staff_location_by_id,
    access_staff_provider_by_id,
    access_staff_visit_type_by_id,
)
from scheduling.actions import Booking, BookingError, SlotTakenError, book_appointment
from scheduling.models import Mode, VisitType
from scheduling.selectors import open_slots
from scheduling.slots import Slot
from scheduling.times import day_bounds

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.models import Patient
    from accounts.requests import SignedInRequest

DESK_SLOTS = 24  # free times shown at once
SEARCH_DAYS = 14  # without a day chosen: the soonest times in the next two weeks


class DeskBookForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the visit"), max_length=500, required=False)


@dataclass
class Choice:
    value: str  # "<provider>|<start ISO>|<location or empty>"
    label: str


def _choice(slot: Slot, names: dict[int, str], zone: ZoneInfo) -> Choice:
    local = slot.starts_at.astimezone(zone)
    return Choice(
        value=f"{slot.provider_id}|{slot.starts_at.astimezone(UTC).isoformat()}|{slot.location_id or ''}",
        label=f"{date_format(local, 'D j M')} {time_format(local, 'H:i')} · {names.get(slot.provider_id, '')}",
    )


def _search_day(raw: str) -> date | None:
    try:
        return parse_date(raw.strip()[:10]) if raw else None
    except ValueError:
        return None


def _chosen(staff: Actor, source: Any) -> dict[str, Any]:
    """The visit type, provider and way chosen in the query string or the form (checked for the desk)."""
    raw_type = (source.get("visit_type") or "").strip()
    visit_type = access_staff_visit_type_by_id(staff, raw_type) if raw_type else None
    raw_provider = (source.get("provider") or "").strip()
    provider = access_staff_provider_by_id(staff, raw_provider) if raw_provider else None
    mode = source.get("mode") or ""
    if visit_type is not None and mode not in visit_type.modes:
        mode = visit_type.modes[0] if visit_type.modes else ""
    return {"visit_type": visit_type, "provider": provider, "mode": mode}


def _free_times(staff: Actor, chosen: dict[str, Any], day: date | None, zone: ZoneInfo) -> list[Slot]:
    visit_type = chosen["visit_type"]
    if visit_type is None:
        return []
    now = timezone.now()
    if day is not None:
        start, end = day_bounds(day, zone)
    else:
        start, end = now, now + timedelta(days=SEARCH_DAYS)
    return open_slots(
        visit_type,
        start=start,
        end=end,
        now=now,
        provider=chosen["provider"],
        mode=chosen["mode"] or None,
        limit=DESK_SLOTS,
        waive_notice=True,
    )


@staff_page(roles=SCHEDULE_ROLES)
@require_http_methods(["GET", "POST"])
def book_for_patient(request: SignedInRequest, staff: Actor) -> HttpResponse:
    organization = staff.organization
    zone = ZoneInfo(organization.time_zone)
    source = request.POST if request.method == "POST" else request.GET
    raw_patient = (source.get("patient") or "").strip()
    patient: Patient | None = access_patient_by_id(staff, raw_patient) if raw_patient else None
    query = request.GET.get("q", "").strip()[:100]
    matches = desk.patients_matching(staff, query) if patient is None else []
    if matches:
        record_audit_events(
            action=AuditAction.ROSTER_VIEWED,
            actor=staff,
            request=request,
            rows=[(match.patient, "organization", organization.pk) for match in matches],
        )
    chosen = _chosen(staff, source)
    day = _search_day(source.get("day", ""))
    form = DeskBookForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and patient is not None and chosen["visit_type"] is not None and form.is_valid():
        try:
            appointment = _book(request, staff, patient, chosen, form.cleaned_data["reason"])
        except SlotTakenError as error:
            form.add_error(None, str(error))
            status = 409
        except BookingError as error:
            form.add_error(None, str(error))
            status = 400
        else:
            local = appointment.starts_at.astimezone(zone)
            messages.success(
                request,
                _("Booked for %(patient)s: %(when)s with %(provider)s.")
                % {
                    "patient": patient.display_name,
                    "when": f"{date_format(local, 'D j M')} {time_format(local, 'H:i')}",
                    "provider": appointment.provider.display_name,
                },
            )
            schedule = reverse("scheduling:staff_schedule", kwargs={"org_slug": organization.slug})
            return redirect(f"{schedule}?{urlencode({'day': local.date().isoformat()})}")
    elif request.method == "POST":
        form.is_valid()
        form.add_error(None, _("Choose the patient, the kind of visit and a free time."))
        status = 400
    visit_types = desk.desk_visit_types(staff)
    names = {provider.pk: provider.display_name for kind in visit_types for provider in kind.providers.all()}
    slots = _free_times(staff, chosen, day, zone) if patient is not None else []
    return render(
        request,
        "scheduling/staff/book.html",
        {
            "organization": organization,
            "patient": patient,
            "q": query,
            "matches": matches,
            "searched": bool(query) and patient is None,
            "visit_types": visit_types,
            "chosen": chosen,
            "modes": Mode.choices,
            "day": day,
            "choices": [_choice(slot, names, zone) for slot in slots],
            "form": form,
        },
        status=status,
    )


def _book(request: SignedInRequest, staff: Actor, patient: Patient, chosen: dict[str, Any], reason: str) -> Any:
    provider_raw, _sep, rest = (request.POST.get("slot") or "").partition("|")
    starts_raw, _sep, location_raw = rest.partition("|")
    try:
        starts_at = datetime.fromisoformat(starts_raw)
    except ValueError as error:
        raise BookingError(_("Choose one of the free times.")) from error
    if starts_at.tzinfo is None:
        raise BookingError(_("Choose one of the free times."))
    visit_type: VisitType = chosen["visit_type"]
    provider = access_staff_provider_by_id(staff, provider_raw)
    location = access_staff_location_by_id(staff, location_raw) if location_raw else None
    booking = Booking(
        visit_type=visit_type,
        provider=provider,
        starts_at=starts_at,
        mode=chosen["mode"],
        location=location if chosen["mode"] == Mode.IN_PERSON else None,
        reason=reason,
    )
    return book_appointment(actor=staff, patient=patient, booking=booking, by_staff=True, request=request)
