"""The staff's writes to what the clinic offers: booking rules, locations, providers and their hours, time away,
closed days and kinds of visit (actions: objects already checked by the page's declaration, one transaction,
one audit row each, about the organization and never about a patient).

Slots are worked out from these rows on every search, so a change shows at once. Visits already booked stay
booked when hours are removed or time away covers them: the pages list those visits for staff to move.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.models.audit import Basis
from scheduling.desk import held_visits
from scheduling.forms import WEEKDAYS
from scheduling.models import (
    Appointment,
    AvailabilityException,
    ClosedDay,
    Location,
    Provider,
    SchedulingPolicy,
    WeeklyAvailability,
)
from scheduling.times import day_bounds


class SetupError(ValueError):
    """A change that cannot be made; the message says why."""


def _audit(staff: Actor, request: HttpRequest | None, what: str, target: Model, **detail: str) -> None:
    record_audit_event(
        action=AuditAction.SCHEDULING_SETUP_CHANGED,
        actor=staff,
        subject=None,
        basis=Basis.STAFF,
        request=request,
        object_type=target._meta.model_name or "",
        object_id=target.pk,
        detail={"change": what, **detail},
    )


def save_policy(
    *,
    staff: Actor,
    booking_horizon_days: int,
    min_notice_hours: int,
    cancel_cutoff_hours: int,
    reminders: Iterable[int],
    phone: str,
    request: HttpRequest | None = None,
) -> SchedulingPolicy:
    organization = staff.organization
    with transaction.atomic():
        policy, _made = SchedulingPolicy.objects.select_for_update().get_or_create(organization=organization)
        policy.booking_horizon_days = booking_horizon_days
        policy.min_notice_minutes = min_notice_hours * 60
        policy.cancel_cutoff_minutes = cancel_cutoff_hours * 60
        policy.reminder_offsets_minutes = sorted(set(reminders), reverse=True)
        policy.phone = phone.strip()
        policy.save()
        _audit(staff, request, "policy", policy)
    return policy


def save_offer(*, staff: Actor, form: ModelForm[Any], what: str, request: HttpRequest | None = None) -> Model:
    """Saves a location, provider or kind of visit from its checked form, at the desk's organization."""
    with transaction.atomic():
        made = form.save(commit=False)
        adding = made.pk is None
        if adding:
            made.organization = staff.organization
        made.save()
        form.save_m2m()
        _audit(staff, request, f"{what}_{'added' if adding else 'changed'}", made)
    return made


def _overlapping_window(provider: Provider, weekday: int, starts: time, ends: time, first: date | None,
                        last: date | None) -> WeeklyAvailability | None:  # fmt: skip
    same_days = WeeklyAvailability.objects.filter(provider=provider, weekday=weekday, starts__lt=ends, ends__gt=starts)
    if first is not None:
        same_days = same_days.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
    if last is not None:
        same_days = same_days.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=last))
    return same_days.first()


def add_hours(
    *,
    staff: Actor,
    provider: Provider,
    weekdays: Iterable[int],
    starts: time,
    ends: time,
    location: Location | None,
    modes: list[str],
    valid_from: date | None = None,
    valid_until: date | None = None,
    request: HttpRequest | None = None,
) -> list[WeeklyAvailability]:
    """Recurring hours on each weekday given (the fields of scheduling.forms.WindowForm); refused whole when one
    overlaps hours the provider already has."""
    names = dict(WEEKDAYS)
    made: list[WeeklyAvailability] = []
    with transaction.atomic():
        Provider.objects.select_for_update().filter(pk=provider.pk).first()  # one change of hours at a time
        for weekday in sorted(set(weekdays)):
            clash = _overlapping_window(provider, weekday, starts, ends, valid_from, valid_until)
            if clash is not None:
                raise SetupError(
                    _("%(day)s already has hours from %(starts)s to %(ends)s that overlap these. Remove them first.")
                    % {
                        "day": names[weekday],
                        "starts": clash.starts.strftime("%H:%M"),
                        "ends": clash.ends.strftime("%H:%M"),
                    }
                )
            made.append(
                WeeklyAvailability.objects.create(
                    provider=provider,
                    weekday=weekday,
                    starts=starts,
                    ends=ends,
                    location=location,
                    modes=list(modes),
                    valid_from=valid_from,
                    valid_until=valid_until,
                )
            )
        if location is not None:
            provider.locations.add(location)
        _audit(staff, request, "hours_added", provider, days=",".join(str(row.weekday) for row in made))
    return made


def remove_hours(*, staff: Actor, window: WeeklyAvailability, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        provider = window.provider
        window.delete()
        _audit(staff, request, "hours_removed", provider)


def add_time_away(
    *,
    staff: Actor,
    provider: Provider,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    request: HttpRequest | None = None,
) -> tuple[AvailabilityException, list[Appointment]]:
    """Blocks the provider's time; returns it with the visits already booked inside it (not cancelled)."""
    with transaction.atomic():
        away = AvailabilityException.objects.create(
            provider=provider, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()[:200]
        )
        _audit(staff, request, "time_away_added", provider)
    return away, held_visits([provider.pk], starts_at, ends_at)


def remove_time_away(*, staff: Actor, away: AvailabilityException, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        provider = away.provider
        away.delete()
        _audit(staff, request, "time_away_removed", provider)


def add_closed_day(
    *, staff: Actor, day: date, name: str = "", request: HttpRequest | None = None
) -> tuple[ClosedDay, list[Appointment]]:
    """Closes the organization for a day; returns it with the visits already booked that day (not cancelled)."""
    organization = staff.organization
    try:
        with transaction.atomic():
            closed = ClosedDay.objects.create(organization=organization, day=day, name=name.strip()[:100])
            _audit(staff, request, "closed_day_added", closed, day=day.isoformat())
    except IntegrityError as error:
        raise SetupError(_("That day is already closed.")) from error
    starts, ends = day_bounds(day, ZoneInfo(organization.time_zone))
    return closed, held_visits(None, starts, ends, organization=organization)


def remove_closed_day(*, staff: Actor, closed_day: ClosedDay, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        _audit(staff, request, "closed_day_removed", closed_day, day=closed_day.day.isoformat())
        closed_day.delete()
