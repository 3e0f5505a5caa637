"""The patient's and caregiver's side: their appointments, finding a free time, booking it, cancelling.

Every page needs the scheduling scope (accounts.audience.subject_page). Visit types, providers and locations
named in the query string or a form go through scheduling.access; a slot is named by its provider and its
start (an ISO instant) and booked only if it is still free (scheduling.actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import account_page, subject_page
from accounts.audit_labels import AuditAction
from scheduling import selectors
from scheduling.access import (
    access_appointment_by_id,
    access_location_by_id,
    access_offer_by_id,
    access_provider_by_id,
    access_visit_type_by_id,
)
from scheduling.actions import (
    Booking,
    BookingError,
    SlotTakenError,
    book_appointment,
    cancel_appointment,
    move_appointment,
)
from scheduling.calendar import calendar_of
from scheduling.checkin import check_in, fill_form
from scheduling.feeds import end_calendar_feed, live_feed_of, make_calendar_feed
from scheduling.journal import journal_questions
from scheduling.models import Appointment, Mode, Provider, VisitType, WaitlistOffer
from scheduling.questionnaires import FORMS, FREQUENCY, LEAD_IN
from scheduling.slots import Slot
from scheduling.times import when_text, zone_of
from scheduling.video import join_url
from scheduling.waitlist import accept_offer, join_waitlist, leave_waitlist

if TYPE_CHECKING:
    from accounts.models import Patient
    from accounts.requests import SignedInRequest

FIRST_AVAILABLE = 12  # free times shown at once


@dataclass(frozen=True)
class SlotChoice:
    """A free time as the find page shows it: the words, and the address of its booking page."""

    text: str
    provider: str
    mode_words: str
    url: str


def _choices(
    visit_type: VisitType, slots: list[Slot], providers: dict[int, Provider], **extra: str
) -> list[SlotChoice]:
    locations = selectors.locations_by_id({slot.location_id for slot in slots if slot.location_id is not None})
    labels = dict(Mode.choices)
    base = reverse("scheduling:book")
    choices = []
    for slot in slots:
        location = locations.get(slot.location_id) if slot.location_id is not None else None
        query = {
            "visit_type": str(visit_type.pk),
            "provider": str(slot.provider_id),
            "starts": slot.starts_at.astimezone(UTC).isoformat(),
            **({"location": str(location.pk)} if location is not None else {}),
            **extra,
        }
        modes = [str(labels[m]) for m in visit_type.modes if m in slot.modes and m in labels]
        choices.append(
            SlotChoice(
                text=when_text(slot.starts_at, zone_of(visit_type, location)),
                provider=providers[slot.provider_id].display_name if slot.provider_id in providers else "",
                mode_words=", ".join(modes),
                url=f"{base}?{urlencode(query)}",
            )
        )
    return choices


@subject_page(Scope.SCHEDULING, audit=AuditAction.APPOINTMENTS_VIEWED)
@require_safe
def appointments(request: SignedInRequest, subject: Patient) -> HttpResponse:
    now = timezone.now()
    rows = list(selectors.appointments_of(subject)[:200])
    # A visit under way stays "coming up" until it ends (its video link is there).
    upcoming = [a for a in rows if a.ends_at > now and a.holds_time][::-1]
    past = [a for a in rows if not (a.ends_at > now and a.holds_time)]
    return render(
        request,
        "scheduling/appointments.html",
        {
            "patient": subject,
            "upcoming": [
                (a, when_text(a.starts_at, zone_of(a.visit_type, a.location)), join_url(a, now=now)) for a in upcoming
            ],
            "past": [(a, when_text(a.starts_at, zone_of(a.visit_type, a.location))) for a in past],
            "visit_types": selectors.bookable_visit_types(subject),
            "waiting": selectors.waiting_appointment_ids(subject),
        },
    )


@subject_page(Scope.SCHEDULING)
@require_safe
def find(request: SignedInRequest, subject: Patient) -> HttpResponse:
    """Choose a kind of visit (and a provider, or anyone; and how), then the soonest free times."""
    actor = request.actor
    visit_types = selectors.bookable_visit_types(subject)
    raw_type = (request.GET.get("visit_type") or "").strip()
    visit_type = access_visit_type_by_id(actor, raw_type) if raw_type else None
    raw_provider = (request.GET.get("provider") or "").strip()
    provider = (
        access_provider_by_id(actor, raw_provider, visit_type=visit_type) if visit_type and raw_provider else None
    )
    mode = request.GET.get("mode") or None
    if visit_type is not None and mode not in (None, *visit_type.modes):
        mode = None
    raw_move = (request.GET.get("move") or "").strip()
    moving = access_appointment_by_id(actor, raw_move) if raw_move else None
    if moving is not None and visit_type is None:
        visit_type = access_visit_type_by_id(actor, moving.visit_type_id)
    choices: list[SlotChoice] = []
    if visit_type is not None:
        slots = selectors.first_available(
            visit_type, now=timezone.now(), count=FIRST_AVAILABLE, provider=provider, mode=mode
        )
        providers = {p.pk: p for p in visit_type.providers.all()}
        extra = {**({"mode": mode} if mode else {}), **({"move": str(moving.pk)} if moving else {})}
        choices = _choices(visit_type, slots, providers, **extra)
    return render(
        request,
        "scheduling/find.html",
        {
            "patient": subject,
            "visit_types": visit_types,
            "visit_type": visit_type,
            "provider": provider,
            "mode": mode or "",
            "modes": [(value, label) for value, label in Mode.choices if visit_type and value in visit_type.modes],
            "choices": choices,
            "moving": moving,
            "moving_when": when_text(moving.starts_at, zone_of(moving.visit_type, moving.location)) if moving else "",
        },
    )


class BookForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the visit"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("In a few words; the care team reads it before the visit."),
    )
    questions = forms.CharField(
        label=gettext_lazy("Questions for the provider"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _wanted(request: SignedInRequest, source: Any) -> tuple[Booking, ZoneInfo]:
    """The slot the page names (query string or form), its objects checked; junk is a 404."""
    actor = request.actor
    visit_type = access_visit_type_by_id(actor, source.get("visit_type"))
    provider = access_provider_by_id(actor, source.get("provider"), visit_type=visit_type)
    raw_location = (source.get("location") or "").strip()
    location = access_location_by_id(actor, raw_location, visit_type=visit_type) if raw_location else None
    try:
        starts = datetime.fromisoformat(str(source.get("starts") or ""))
    except ValueError:
        raise Http404 from None
    if starts.tzinfo is None:
        raise Http404
    mode = str(source.get("mode") or "")
    if mode not in visit_type.modes:
        mode = Mode.IN_PERSON if location is not None and Mode.IN_PERSON in visit_type.modes else visit_type.modes[0]
    if mode != Mode.IN_PERSON:
        location = None
    return Booking(visit_type=visit_type, provider=provider, starts_at=starts, mode=mode, location=location), zone_of(
        visit_type, location
    )


@subject_page(Scope.SCHEDULING)
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: SignedInRequest, subject: Patient) -> HttpResponse:
    """The chosen time, the reason and questions, and the button that books it (or says why it cannot)."""
    source = request.POST if request.method == "POST" else request.GET
    wanted, zone = _wanted(request, source)
    raw_move = (source.get("move") or "").strip()
    moving = access_appointment_by_id(request.actor, raw_move) if raw_move else None
    from_journal = [] if moving is not None else journal_questions(request.actor)
    if moving is not None:
        initial = {"reason": moving.reason, "questions": moving.questions}
    else:
        initial = {"questions": "\n".join(from_journal)}
    form = BookForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    alternatives: list[SlotChoice] = []
    if request.method == "POST" and form.is_valid():
        booking = Booking(
            visit_type=wanted.visit_type,
            provider=wanted.provider,
            starts_at=wanted.starts_at,
            mode=wanted.mode,
            location=wanted.location,
            reason=form.cleaned_data["reason"],
            questions=form.cleaned_data["questions"],
        )
        try:
            if moving is not None:
                appointment = move_appointment(actor=request.actor, appointment=moving, to=booking, request=request)
            else:
                appointment = book_appointment(actor=request.actor, patient=subject, booking=booking, request=request)
        except SlotTakenError as error:
            form.add_error(None, str(error))
            providers = {p.pk: p for p in wanted.visit_type.providers.all()}
            extra = {"mode": wanted.mode, **({"move": str(moving.pk)} if moving else {})}
            alternatives = _choices(wanted.visit_type, error.alternatives, providers, **extra)
            status = 409
        except BookingError as error:
            form.add_error(None, str(error))
            status = 400
        else:
            messages.success(request, _booked_words(appointment, zone))
            return redirect("scheduling:appointments")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "scheduling/book.html",
        {
            "patient": subject,
            "wanted": wanted,
            "when": when_text(wanted.starts_at, zone),
            "mode_label": dict(Mode.choices).get(wanted.mode, wanted.mode),
            "form": form,
            "alternatives": alternatives,
            "moving": moving,
            "from_journal": bool(from_journal),
            "moving_when": when_text(moving.starts_at, zone_of(moving.visit_type, moving.location)) if moving else "",
            "slot_fields": {
                **({"move": moving.pk} if moving is not None else {}),
                "visit_type": wanted.visit_type.pk,
                "provider": wanted.provider.pk,
                "starts": wanted.starts_at.astimezone(UTC).isoformat(),
                "mode": wanted.mode,
                "location": wanted.location.pk if wanted.location is not None else "",
            },
        },
        status=status,
    )


def _booked_words(appointment: Appointment, zone: ZoneInfo) -> str:
    when = when_text(appointment.starts_at, zone)
    if appointment.status == "requested":
        return _("Asked for %(when)s with %(provider)s. The clinic will confirm it.") % {
            "when": when,
            "provider": appointment.provider.display_name,
        }
    return _("Booked: %(when)s with %(provider)s.") % {"when": when, "provider": appointment.provider.display_name}


@subject_page(Scope.SCHEDULING, objects={"appointment_id": access_appointment_by_id})
@require_POST
def cancel(request: SignedInRequest, subject: Patient, appointment: Appointment) -> HttpResponse:
    try:
        cancel_appointment(actor=request.actor, appointment=appointment, request=request)
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The visit was cancelled."))
    return redirect("scheduling:appointments")


@subject_page(
    Scope.SCHEDULING, audit=AuditAction.APPOINTMENTS_VIEWED, objects={"appointment_id": access_appointment_by_id}
)
@require_safe
def appointment_file(request: SignedInRequest, subject: Patient, appointment: Appointment) -> HttpResponse:
    """The visit as a calendar file (.ics), to add to any calendar."""
    response = HttpResponse(calendar_of([appointment]), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@subject_page(Scope.SCHEDULING, objects={"appointment_id": access_appointment_by_id})
@require_POST
def waitlist(request: SignedInRequest, subject: Patient, appointment: Appointment) -> HttpResponse:
    """Join the waiting list for an earlier time of this visit (or leave it)."""
    if request.POST.get("leave"):
        leave_waitlist(actor=request.actor, appointment=appointment)
        messages.success(request, _("You left the waiting list for this visit."))
        return redirect("scheduling:appointments")
    try:
        join_waitlist(
            actor=request.actor,
            patient=subject,
            visit_type=appointment.visit_type,
            provider=appointment.provider if request.POST.get("same_provider") else None,
            appointment=appointment,
            wanted_before=appointment.starts_at,
            request=request,
        )
    except BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("If an earlier time frees up, you will be emailed a link to take it."))
    return redirect("scheduling:appointments")


@subject_page(Scope.SCHEDULING, objects={"offer_id": access_offer_by_id})
@require_http_methods(["GET", "HEAD", "POST"])
def offer(request: SignedInRequest, subject: Patient, offer: WaitlistOffer) -> HttpResponse:
    """An earlier time offered from the waiting list: take it (the first to do so gets it)."""
    offered = offer
    status = 200
    problem = ""
    if request.method == "POST":
        try:
            appointment = accept_offer(actor=request.actor, offer=offered, request=request)
        except BookingError as error:
            problem = str(error)
            status = 409
        else:
            messages.success(request, _booked_words(appointment, zone_of(appointment.visit_type, appointment.location)))
            return redirect("scheduling:appointments")
    entry = offered.entry
    return render(
        request,
        "scheduling/offer.html",
        {
            "patient": subject,
            "offer": offered,
            "entry": entry,
            "when": when_text(offered.starts_at, zone_of(entry.visit_type, offered.location)),
            "problem": problem,
        },
        status=status,
    )


@account_page
@require_http_methods(["GET", "HEAD", "POST"])
def calendar_link(request: SignedInRequest) -> HttpResponse:
    """The person's private calendar address: make one (shown once), make a new one, or end it."""
    actor = request.actor
    secret = ""
    if request.method == "POST":
        if request.POST.get("end"):
            end_calendar_feed(actor=actor, request=request)
            messages.success(request, _("The calendar address was ended; calendars using it stop updating."))
            return redirect("scheduling:calendar_link")
        secret = make_calendar_feed(actor=actor, request=request)
    assert actor.user is not None
    feed = live_feed_of(actor.user.pk)
    address = request.build_absolute_uri(reverse("calendar_feed", kwargs={"secret": secret})) if secret else ""
    return render(request, "scheduling/calendar_link.html", {"feed": feed, "address": address})


class CheckInForm(forms.Form):
    details_unchanged = forms.BooleanField(
        label=gettext_lazy("My address, phone and email are still right"), required=False
    )
    insurance_unchanged = forms.BooleanField(label=gettext_lazy("My insurance is the same"), required=False)
    medicines_unchanged = forms.BooleanField(
        label=gettext_lazy("My medicines and allergies are as the clinic has them"), required=False
    )
    changes = forms.CharField(
        label=gettext_lazy("What changed"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: a new address, a new insurance card, a medicine you stopped."),
    )


@subject_page(Scope.SCHEDULING, objects={"appointment_id": access_appointment_by_id})
@require_http_methods(["GET", "HEAD", "POST"])
def check_in_page(request: SignedInRequest, subject: Patient, appointment: Appointment) -> HttpResponse:
    """Before the visit: confirm what the clinic holds, and the visit's forms to fill."""
    done = selectors.check_in_of(appointment)
    initial = (
        {
            "details_unchanged": done.details_unchanged,
            "insurance_unchanged": done.insurance_unchanged,
            "medicines_unchanged": done.medicines_unchanged,
            "changes": done.changes,
        }
        if done is not None
        else None
    )
    form = CheckInForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            check_in(actor=request.actor, appointment=appointment, request=request, **form.cleaned_data)
        except BookingError as error:
            form.add_error(None, str(error))
            status = 400
        else:
            messages.success(request, _("Thank you: the clinic has your check-in."))
            return redirect("scheduling:check_in", appointment_id=appointment.pk)
    elif request.method == "POST":
        status = 400
    sent = selectors.forms_sent(appointment)
    return render(
        request,
        "scheduling/check_in.html",
        {
            "patient": subject,
            "appointment": appointment,
            "when": when_text(appointment.starts_at, zone_of(appointment.visit_type, appointment.location)),
            "form": form,
            "done": done,
            "forms": [(FORMS[key], key in sent) for key in appointment.visit_type.forms if key in FORMS],
            "open": appointment.holds_time and appointment.starts_at > timezone.now(),
        },
        status=status,
    )


@subject_page(Scope.SCHEDULING, objects={"appointment_id": access_appointment_by_id})
@require_http_methods(["GET", "HEAD", "POST"])
def form_page(request: SignedInRequest, subject: Patient, appointment: Appointment, form_key: str) -> HttpResponse:
    """One of the visit's forms: each question with the instrument's four answers."""
    form = FORMS.get(form_key)
    if form is None or form_key not in appointment.visit_type.forms:
        raise Http404
    answers = {item.link_id: request.POST.get(f"item-{item.link_id}", "") for item in form.items}
    problem = ""
    status = 200
    if request.method == "POST":
        try:
            fill_form(actor=request.actor, appointment=appointment, form_key=form_key, answers=answers, request=request)
        except BookingError as error:
            problem = str(error)
            status = 400
        else:
            messages.success(request, _("Thank you: your answers were sent to the care team."))
            return redirect("scheduling:check_in", appointment_id=appointment.pk)
    return render(
        request,
        "scheduling/form.html",
        {
            "patient": subject,
            "appointment": appointment,
            "questionnaire": form,
            "lead_in": LEAD_IN,
            "choices": FREQUENCY,
            "answers": answers,
            "problem": problem,
        },
        status=status,
    )
