"""Appointments as iCalendar (RFC 5545): a file per visit, for any calendar program.

What a calendar entry says travels to other services (a phone's calendar, an online one), so it names the
clinic, the place and the provider, never the kind of visit or its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from scheduling.models import Appointment, AppointmentStatus, Mode

PRODUCT_ID = "-//Family Health Portal//Appointments//EN"


def _where(appointment: Appointment) -> str:
    if appointment.mode == Mode.VIDEO:
        return _("Video visit")
    if appointment.mode == Mode.PHONE:
        return _("Phone visit")
    location = appointment.location
    if location is None:
        return appointment.organization.name
    return ", ".join(part for part in (location.name, location.address) if part)


@dataclass(frozen=True)
class OutsideVisit:
    """A visit a connected health system told of (read only): when, and which source said so."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    source: str
    cancelled: bool = False


def calendar_of(appointments: Iterable[Appointment], outside: Iterable[OutsideVisit] = ()) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    host = settings.PORTAL_URL.split("://", 1)[-1].split("/", 1)[0] or "portal"
    for appointment in appointments:
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{host}")
        event.add("dtstamp", timezone.now().astimezone(UTC))
        event.add("dtstart", appointment.starts_at.astimezone(UTC))
        event.add("dtend", appointment.ends_at.astimezone(UTC))
        event.add("summary", _("Appointment at %(clinic)s") % {"clinic": appointment.organization.name})
        event.add("location", _where(appointment))
        event.add("description", _("With %(provider)s.") % {"provider": appointment.provider.display_name})
        cancelled = appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar.add_component(event)
    for visit in outside:
        event = Event()
        event.add("uid", f"{visit.uid}@{host}")
        event.add("dtstamp", timezone.now().astimezone(UTC))
        event.add("dtstart", visit.starts_at.astimezone(UTC))
        event.add("dtend", visit.ends_at.astimezone(UTC))
        event.add("summary", _("Appointment (from %(source)s)") % {"source": visit.source})
        event.add("description", _("Told by %(source)s; change it with them.") % {"source": visit.source})
        event.add("status", "CANCELLED" if visit.cancelled else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
