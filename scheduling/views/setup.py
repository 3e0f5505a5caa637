"""The staff's scheduling setup: booking rules, locations, providers with their hours and time away, closed days
and kinds of visit.

Who: the organization's admins change everything; its front desk changes hours, time away and closed days
(what changes week to week) and reads the rest. Every change is one action in scheduling.setup, audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.forms import ModelForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.audience import staff_page
from scheduling import desk, setup
from scheduling.access import (
    HOURS_ROLES,
    OFFER_ROLES,
    access_staff_closed_day_by_id,
    access_staff_hours_by_id,
    access_staff_location_by_id,
    access_staff_provider_by_id,
    access_staff_time_away_by_id,
    access_staff_visit_type_by_id,
)
from scheduling.forms import (
    WEEKDAYS,
    ClosedDayForm,
    LocationForm,
    PolicyForm,
    ProviderForm,
    TimeAwayForm,
    VisitTypeForm,
    WindowForm,
)
from scheduling.models import Appointment, AvailabilityException, ClosedDay, Location, Provider, VisitType
from scheduling.models import WeeklyAvailability as Hours

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.requests import SignedInRequest


def _zone(staff: Actor) -> ZoneInfo:
    return ZoneInfo(staff.organization.time_zone)


def _setup_url(staff: Actor, anchor: str = "") -> str:
    url = reverse("scheduling:staff_setup", kwargs={"org_slug": staff.organization.slug})
    return f"{url}#{anchor}" if anchor else url


def _provider_url(staff: Actor, provider: Provider) -> str:
    return reverse(
        "scheduling:staff_provider", kwargs={"org_slug": staff.organization.slug, "provider_id": provider.pk}
    )


def _warn_booked(request: SignedInRequest, staff: Actor, visits: list[Appointment]) -> None:
    """Tells staff which booked visits fall in time just closed (they stay booked until someone moves them)."""
    if not visits:
        return
    zone = _zone(staff)
    listed = ", ".join(
        f"{date_format(local, 'D j M')} {time_format(local, 'H:i')} {visit.patient.display_name}"
        f" ({visit.provider.display_name})"
        for visit, local in ((visit, visit.starts_at.astimezone(zone)) for visit in visits[:10])
    )
    messages.warning(
        request,
        ngettext(
            "%(count)d visit is still booked in that time: %(visits)s. Move it or cancel it from the schedule.",
            "%(count)d visits are still booked in that time: %(visits)s. Move them or cancel them from the schedule.",
            len(visits),
        )
        % {"count": len(visits), "visits": listed},
    )


def _setup_page(staff: Actor, request: SignedInRequest, **forms: Any) -> HttpResponse:
    offer = desk.what_the_desk_offers(staff)
    organization = staff.organization
    context: dict[str, Any] = {
        "organization": organization,
        "offer": offer,
        "may_change_offer": staff.is_org_admin_of(organization.pk),
        "weekday_names": dict(WEEKDAYS),
        "policy_form": PolicyForm(initial=PolicyForm.initial_from(offer.policy)),
        "location_form": LocationForm(prefix="location"),
        "provider_form": ProviderForm(organization=organization, prefix="provider"),
        "visit_type_form": VisitTypeForm(organization=organization, prefix="visit"),
        "closed_day_form": ClosedDayForm(zone=_zone(staff), prefix="closed"),
        "reminders": [
            label
            for minutes, label in PolicyForm.base_fields["reminders"].choices  # type: ignore[attr-defined]
            if minutes in (offer.policy.reminder_offsets_minutes or [])
        ],
    }
    context.update(forms)
    status = 400 if any(form.errors for form in forms.values()) else 200
    return render(request, "scheduling/staff/setup.html", context, status=status)


def _add(
    request: SignedInRequest, staff: Actor, form: ModelForm[Any], what: str, done: str, *, anchor: str
) -> HttpResponse:
    """Adds a location, provider or kind of visit from the setup page's form (shown again with its errors)."""
    if not form.is_valid():
        return _setup_page(staff, request, **{f"{what}_form": form})
    setup.save_offer(staff=staff, form=form, what=what, request=request)
    messages.success(request, done)
    return redirect(_setup_url(staff, anchor))


def _edit(
    request: SignedInRequest, staff: Actor, form: ModelForm[Any], what: str, heading: str, done: str, *, anchor: str
) -> HttpResponse:
    """The edit page of a location or kind of visit: the form, saved on a valid POST."""
    if request.method == "POST" and form.is_valid():
        setup.save_offer(staff=staff, form=form, what=what, request=request)
        messages.success(request, done)
        return redirect(_setup_url(staff, anchor))
    return render(
        request,
        "scheduling/staff/edit.html",
        {"organization": staff.organization, "form": form, "heading": heading, "back": _setup_url(staff)},
        status=400 if form.errors else 200,
    )


@staff_page(roles=HOURS_ROLES)
@require_safe
def setup_page(request: SignedInRequest, staff: Actor) -> HttpResponse:
    return _setup_page(staff, request)


@staff_page(roles=OFFER_ROLES)
@require_POST
def policy(request: SignedInRequest, staff: Actor) -> HttpResponse:
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _setup_page(staff, request, policy_form=form)
    setup.save_policy(staff=staff, request=request, **form.cleaned_data)
    messages.success(request, _("The booking rules are saved. They apply to the next search."))
    return redirect(_setup_url(staff, "rules"))


@staff_page(roles=OFFER_ROLES)
@require_POST
def location_add(request: SignedInRequest, staff: Actor) -> HttpResponse:
    form = LocationForm(request.POST, prefix="location")
    return _add(request, staff, form, "location", _("The location is added."), anchor="locations")


@staff_page(roles=OFFER_ROLES, objects={"location_id": access_staff_location_by_id})
@require_http_methods(["GET", "POST"])
def location_page(request: SignedInRequest, staff: Actor, location: Location) -> HttpResponse:
    form = LocationForm(request.POST or None, instance=location)
    return _edit(request, staff, form, "location", location.name, _("The location is saved."), anchor="locations")


@staff_page(roles=OFFER_ROLES)
@require_POST
def provider_add(request: SignedInRequest, staff: Actor) -> HttpResponse:
    form = ProviderForm(request.POST, organization=staff.organization, prefix="provider")
    if not form.is_valid():
        return _setup_page(staff, request, provider_form=form)
    made = setup.save_offer(staff=staff, form=form, what="provider", request=request)
    messages.success(request, _("The provider is added. Now give them their hours."))
    return redirect(_provider_url(staff, made))  # type: ignore[arg-type]


def _provider_page(
    request: SignedInRequest, staff: Actor, provider: Provider, *, status: int = 200, **forms: Any
) -> HttpResponse:
    organization = staff.organization
    zone = _zone(staff)
    context: dict[str, Any] = {
        "organization": organization,
        "provider": provider,
        "may_change_offer": staff.is_org_admin_of(organization.pk),
        "hours": desk.hours_of(provider),
        "time_away": desk.time_away_of(provider, now=timezone.now()),
        "weekday_names": dict(WEEKDAYS),
        "zone": zone,
        "details_form": ProviderForm(instance=provider, organization=organization),
        "hours_form": WindowForm(provider=provider, prefix="hours"),
        "away_form": TimeAwayForm(zone=zone, prefix="away"),
        "back": _setup_url(staff, "providers"),
    }
    context.update(forms)
    return render(request, "scheduling/staff/provider.html", context, status=status)


@staff_page(roles=HOURS_ROLES, objects={"provider_id": access_staff_provider_by_id})
@require_safe
def provider_page(request: SignedInRequest, staff: Actor, provider: Provider) -> HttpResponse:
    return _provider_page(request, staff, provider)


@staff_page(roles=OFFER_ROLES, objects={"provider_id": access_staff_provider_by_id})
@require_POST
def provider_details(request: SignedInRequest, staff: Actor, provider: Provider) -> HttpResponse:
    was_active = provider.is_active  # read before the form writes the posted values onto the instance
    form = ProviderForm(request.POST, instance=provider, organization=staff.organization)
    if not form.is_valid():
        provider.refresh_from_db()
        return _provider_page(request, staff, provider, status=400, details_form=form)
    setup.save_offer(staff=staff, form=form, what="provider", request=request)
    messages.success(request, _("The provider's details are saved."))
    if was_active and not provider.is_active:
        now = timezone.now()
        _warn_booked(request, staff, desk.held_visits([provider.pk], now, now + timedelta(days=366)))
    return redirect(_provider_url(staff, provider))


@staff_page(roles=HOURS_ROLES, objects={"provider_id": access_staff_provider_by_id})
@require_POST
def hours_add(request: SignedInRequest, staff: Actor, provider: Provider) -> HttpResponse:
    form = WindowForm(request.POST, provider=provider, prefix="hours")
    if form.is_valid():
        try:
            setup.add_hours(staff=staff, provider=provider, request=request, **form.cleaned_data)
        except setup.SetupError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The hours are added. Patients can book them now."))
            return redirect(_provider_url(staff, provider) + "#hours")
    return _provider_page(request, staff, provider, status=400, hours_form=form)


@staff_page(
    roles=HOURS_ROLES,
    objects={"provider_id": access_staff_provider_by_id, "hours_id": access_staff_hours_by_id},
)
@require_POST
def hours_remove(request: SignedInRequest, staff: Actor, provider: Provider, hours: Hours) -> HttpResponse:
    setup.remove_hours(staff=staff, window=hours, request=request)
    messages.success(request, _("The hours are removed. Visits already booked in them stay booked."))
    return redirect(_provider_url(staff, provider) + "#hours")


@staff_page(roles=HOURS_ROLES, objects={"provider_id": access_staff_provider_by_id})
@require_POST
def time_away_add(request: SignedInRequest, staff: Actor, provider: Provider) -> HttpResponse:
    form = TimeAwayForm(request.POST, zone=_zone(staff), prefix="away")
    if not form.is_valid():
        return _provider_page(request, staff, provider, status=400, away_form=form)
    data = form.cleaned_data
    _away, booked = setup.add_time_away(
        staff=staff,
        provider=provider,
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        reason=data["reason"],
        request=request,
    )
    messages.success(request, _("The time away is saved: no one can book it now."))
    _warn_booked(request, staff, booked)
    return redirect(_provider_url(staff, provider) + "#away")


@staff_page(
    roles=HOURS_ROLES,
    objects={"provider_id": access_staff_provider_by_id, "time_away_id": access_staff_time_away_by_id},
)
@require_POST
def time_away_remove(
    request: SignedInRequest, staff: Actor, provider: Provider, time_away: AvailabilityException
) -> HttpResponse:
    setup.remove_time_away(staff=staff, away=time_away, request=request)
    messages.success(request, _("The time away is removed: its hours can be booked again."))
    return redirect(_provider_url(staff, provider) + "#away")


@staff_page(roles=HOURS_ROLES)
@require_POST
def closed_day_add(request: SignedInRequest, staff: Actor) -> HttpResponse:
    form = ClosedDayForm(request.POST, zone=_zone(staff), prefix="closed")
    if form.is_valid():
        try:
            _closed, booked = setup.add_closed_day(
                staff=staff, day=form.cleaned_data["day"], name=form.cleaned_data["name"], request=request
            )
        except setup.SetupError as error:
            form.add_error("day", str(error))
        else:
            messages.success(request, _("The clinic is closed that day: no one can book it now."))
            _warn_booked(request, staff, booked)
            return redirect(_setup_url(staff, "closed"))
    return _setup_page(staff, request, closed_day_form=form)


@staff_page(roles=HOURS_ROLES, objects={"closed_day_id": access_staff_closed_day_by_id})
@require_POST
def closed_day_remove(request: SignedInRequest, staff: Actor, closed_day: ClosedDay) -> HttpResponse:
    setup.remove_closed_day(staff=staff, closed_day=closed_day, request=request)
    messages.success(request, _("The day is open again."))
    return redirect(_setup_url(staff, "closed"))


@staff_page(roles=OFFER_ROLES)
@require_POST
def visit_type_add(request: SignedInRequest, staff: Actor) -> HttpResponse:
    form = VisitTypeForm(request.POST, organization=staff.organization, prefix="visit")
    return _add(request, staff, form, "visit_type", _("The kind of visit is added."), anchor="visits")


@staff_page(roles=OFFER_ROLES, objects={"visit_type_id": access_staff_visit_type_by_id})
@require_http_methods(["GET", "POST"])
def visit_type_page(request: SignedInRequest, staff: Actor, visit_type: VisitType) -> HttpResponse:
    form = VisitTypeForm(request.POST or None, instance=visit_type, organization=staff.organization)
    saved = _("The kind of visit is saved. Visits already booked keep their length.")
    return _edit(request, staff, form, "visit_type", visit_type.name, saved, anchor="visits")
