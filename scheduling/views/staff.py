"""The staff side: the day's schedule of every provider at the desk's organization, and marking visits.

Staff pages (accounts.audience.staff_page) at the organization the URL names; visits through
scheduling.access (the desk's rows only). Each visit listed is in its patient's access history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.actions.audit import record_audit_events
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from scheduling import desk, selectors
from scheduling.access import HOURS_ROLES, SCHEDULE_ROLES, access_staff_appointment_by_id
from scheduling.actions import BookingError, StaffMark, cancel_appointment, mark_appointment
from scheduling.models import Appointment
from scheduling.questionnaires import FORMS
from scheduling.video import join_url

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.requests import SignedInRequest


def _day(raw: str, zone: ZoneInfo) -> date:
    try:
        chosen = parse_date(raw.strip()[:10]) if raw else None
    except ValueError:
        chosen = None
    return chosen or timezone.now().astimezone(zone).date()


@staff_page(roles=SCHEDULE_ROLES)
@require_safe
def schedule(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """One day (the organization's clock) of every provider's visits, with what can be marked on each; or its
    week (`view=week`), Monday to Sunday."""
    organization = staff.organization
    zone = ZoneInfo(organization.time_zone)
    day = _day(request.GET.get("day", ""), zone)
    if request.GET.get("view") == "week":
        return _week(request, staff, day - timedelta(days=day.weekday()), zone)
    visits = selectors.day_schedule(staff, day)
    now = timezone.now()
    record_audit_events(
        action=AuditAction.SCHEDULE_VIEWED,
        actor=staff,
        request=request,
        rows=[(visit.patient, "appointment", visit.pk) for visit in visits],
    )
    rows = []
    for visit in visits:
        local = visit.starts_at.astimezone(zone)
        rows.append(
            {
                "visit": visit,
                "time": time_format(local, "H:i"),
                "patient": f"{visit.patient.family_name}, {visit.patient.given_name}",
                "mrn": getattr(visit, "mrn", "") or "",
                "checked_in": hasattr(visit, "check_in"),
                "join": join_url(visit, now=now),
                "forms": [
                    {
                        "title": FORMS[response.form].title if response.form in FORMS else response.form,
                        "total": response.total,
                        "severity": gettext(response.severity),
                        "flagged": response.flagged,
                    }
                    for response in visit.form_responses.all()
                ],
            }
        )
    return render(
        request,
        "scheduling/staff/schedule.html",
        {
            "organization": organization,
            "day": day,
            "day_text": date_format(day, "l j F Y"),
            "previous_day": (day - timedelta(days=1)).isoformat(),
            "next_day": (day + timedelta(days=1)).isoformat(),
            "rows": rows,
            "providers": selectors.desk_providers(staff),
            "marks": StaffMark,
            "may_set_up": bool(staff.roles_at(organization.pk) & HOURS_ROLES),
        },
    )


def _week(request: SignedInRequest, staff: Actor, monday: date, zone: ZoneInfo) -> HttpResponse:
    visits = desk.week_schedule(staff, monday)
    record_audit_events(
        action=AuditAction.SCHEDULE_VIEWED,
        actor=staff,
        request=request,
        rows=[(visit.patient, "appointment", visit.pk) for visit in visits],
    )
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        rows = []
        for visit in visits:
            local = visit.starts_at.astimezone(zone)
            if local.date() == day:
                rows.append(
                    {
                        "visit": visit,
                        "time": time_format(local, "H:i"),
                        "patient": f"{visit.patient.family_name}, {visit.patient.given_name}",
                        "mrn": getattr(visit, "mrn", "") or "",
                    }
                )
        days.append({"day": day, "text": date_format(day, "l j F"), "rows": rows})
    return render(
        request,
        "scheduling/staff/week.html",
        {
            "organization": staff.organization,
            "monday": monday,
            "week_text": date_format(monday, "j F Y"),
            "previous_week": (monday - timedelta(days=7)).isoformat(),
            "next_week": (monday + timedelta(days=7)).isoformat(),
            "days": days,
            "count": len(visits),
        },
    )


@staff_page(roles=SCHEDULE_ROLES, objects={"appointment_id": access_staff_appointment_by_id})
@require_POST
def mark(request: SignedInRequest, staff: Actor, appointment: Appointment) -> HttpResponse:
    chosen = request.POST.get("mark", "")
    day = appointment.starts_at.astimezone(ZoneInfo(staff.organization.time_zone)).date().isoformat()
    try:
        if chosen == "cancel":
            cancel_appointment(actor=staff, appointment=appointment, by_staff=True, request=request)
        elif chosen in StaffMark.ALL:
            mark_appointment(staff=staff, appointment=appointment, mark=chosen, request=request)
        else:
            raise BookingError(_("Choose what to mark."))
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(patient)s: %(status)s.")
            % {"patient": appointment.patient.display_name, "status": appointment.get_status_display()},
        )
    return redirect(f"{reverse('scheduling:staff_schedule', kwargs={'org_slug': staff.organization.slug})}?day={day}")
