"""The staff's forms for what the clinic offers and when (parsing and checks that need no database).

Times are typed on the organization's clock (a location's clock for its windows); the actions in
scheduling.setup check what needs the database (overlapping windows, visits already booked).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.utils import timezone
from django.utils.dates import WEEKDAYS as DAY_NAMES
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, User
from scheduling.models import Location, Mode, PatientStatus, Provider, VisitType
from scheduling.questionnaires import FORMS

# ISO weekdays (1 Monday … 7 Sunday) with Django's own translated names.
WEEKDAYS = [(number + 1, name) for number, name in sorted(DAY_NAMES.items())]

DAY = 24 * 60
# The reminder times an organization may choose (minutes before the visit).
REMINDER_CHOICES = [
    (14 * DAY, _("14 days before")),
    (7 * DAY, _("7 days before")),
    (3 * DAY, _("3 days before")),
    (2 * DAY, _("2 days before")),
    (DAY, _("1 day before")),
    (12 * 60, _("12 hours before")),
    (4 * 60, _("4 hours before")),
    (2 * 60, _("2 hours before")),
    (60, _("1 hour before")),
]

MAX_HOURS = 14 * 24  # notice and cutoff: up to two weeks


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _modes_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Ways of seeing patients"), choices=Mode.choices, widget=forms.CheckboxSelectMultiple
    )


class PolicyForm(forms.Form):
    booking_horizon_days = forms.IntegerField(
        label=_("Patients may book up to this many days ahead"), min_value=1, max_value=365
    )
    min_notice_hours = forms.IntegerField(
        label=_("Minimum notice to book online (hours)"),
        min_value=0,
        max_value=MAX_HOURS,
        help_text=_("Staff may still book sooner from the desk."),
    )
    cancel_cutoff_hours = forms.IntegerField(
        label=_("Online cancelling and moving closes (hours before the visit)"),
        min_value=0,
        max_value=MAX_HOURS,
        help_text=_("Later than this, patients are told the rule and the phone number below."),
    )
    reminders = forms.TypedMultipleChoiceField(
        label=_("Reminders"),
        choices=REMINDER_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("By email, and by text message to people who asked for texts. None ticked: no reminders."),
    )
    phone = forms.CharField(label=_("Phone number for scheduling"), max_length=40, required=False)

    @classmethod
    def initial_from(cls, policy: Any) -> dict[str, Any]:
        return {
            "booking_horizon_days": policy.booking_horizon_days,
            "min_notice_hours": policy.min_notice_minutes // 60,
            "cancel_cutoff_hours": policy.cancel_cutoff_minutes // 60,
            "reminders": list(policy.reminder_offsets_minutes or []),
            "phone": policy.phone,
        }


@cache
def _zone_names() -> tuple[str, ...]:
    """The IANA zones (read from the system's zone files once, not on every form)."""
    return tuple(sorted(available_timezones()))


def _zone_choices() -> list[tuple[str, object]]:
    return [("", _("The organization's time zone")), *((zone, zone) for zone in _zone_names())]


class LocationForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=_zone_choices)

    class Meta:
        model = Location
        fields = ["name", "address", "time_zone", "is_active"]
        labels = {"is_active": _("Open for bookings")}


def _member_label(user: User) -> str:
    return user.full_name or user.email


class ProviderForm(forms.ModelForm):
    """A provider's details; `user` links the staff member's account (their own schedule, later)."""

    class Meta:
        model = Provider
        fields = ["display_name", "title", "user", "locations", "is_active"]
        labels = {"user": _("Staff account"), "locations": _("Sees patients at"), "is_active": _("Takes bookings")}
        widgets = {"locations": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        locations: forms.ModelMultipleChoiceField = self.fields["locations"]  # type: ignore[assignment]
        locations.queryset = Location.objects.filter(organization=organization).order_by("name")
        locations.required = False
        members: forms.ModelChoiceField = self.fields["user"]  # type: ignore[assignment]
        members.queryset = (
            User.objects.filter(memberships__organization=organization, memberships__role__in=("clinician", "nurse"))
            .distinct()
            .order_by("full_name", "email")
        )
        members.required = False
        members.label_from_instance = _member_label  # type: ignore[method-assign,assignment]

    def clean_user(self) -> User | None:
        user: User | None = self.cleaned_data.get("user")
        if user is None:
            return None
        taken = Provider.objects.filter(organization=self.organization, user=user).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("This staff member is already another provider here."))
        return user


class VisitTypeForm(forms.ModelForm):
    modes = forms.MultipleChoiceField(
        label=_("Ways this visit may take"), choices=Mode.choices, widget=forms.CheckboxSelectMultiple
    )
    forms = forms.MultipleChoiceField(
        label=_("Forms to fill before the visit"),
        choices=[(key, form.title) for key, form in FORMS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = VisitType
        fields = [
            "name",
            "duration_minutes",
            "modes",
            "patients",
            "bookable_online",
            "needs_approval",
            "providers",
            "forms",
            "is_active",
        ]
        labels = {
            "patients": _("Who may book it"),
            "providers": _("Providers who offer it"),
            "is_active": _("Offered"),
        }
        widgets = {"providers": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        providers: forms.ModelMultipleChoiceField = self.fields["providers"]  # type: ignore[assignment]
        providers.queryset = Provider.objects.filter(organization=organization).order_by("display_name")
        providers.required = False
        self.fields["patients"].choices = PatientStatus.choices  # type: ignore[attr-defined]

    def clean_duration_minutes(self) -> int:
        minutes: int = self.cleaned_data["duration_minutes"]
        if not 5 <= minutes <= 8 * 60:
            raise forms.ValidationError(_("A visit lasts from 5 minutes to 8 hours."))
        return minutes


class WindowForm(forms.Form):
    """Recurring hours: on the ticked weekdays, from `starts` to `ends`, at a location (or for video and phone)."""

    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    starts = forms.TimeField(label=pgettext_lazy("hours", "From"), widget=_time_input())
    ends = forms.TimeField(label=pgettext_lazy("hours", "To"), widget=_time_input())
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("None: video and phone visits only"),
    )
    modes = _modes_field()
    valid_from = forms.DateField(label=_("From the day"), required=False, widget=_date_input())
    valid_until = forms.DateField(label=_("Until the day (included)"), required=False, widget=_date_input())

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location: forms.ModelChoiceField = self.fields["location"]  # type: ignore[assignment]
        location.queryset = Location.objects.filter(organization_id=provider.organization_id, is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts"), data.get("ends")
        if starts is not None and ends is not None and starts >= ends:
            self.add_error("ends", _("The hours must end after they start, on the same day."))
        if Mode.IN_PERSON in data.get("modes", []) and data.get("location") is None:
            self.add_error("location", _("In-person visits need a location."))
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_from > valid_until:
            self.add_error("valid_until", _("The last day comes before the first."))
        return data


def local_moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=zone)


class TimeAwayForm(forms.Form):
    """Time a provider is away, on the organization's clock; without hours, whole days."""

    starts_on = forms.DateField(label=_("First day"), widget=_date_input())
    starts_time = forms.TimeField(
        label=_("From"), required=False, widget=_time_input(), help_text=_("Empty: from the start of the day.")
    )
    ends_on = forms.DateField(label=_("Last day"), widget=_date_input())
    ends_time = forms.TimeField(
        label=_("Until"), required=False, widget=_time_input(), help_text=_("Empty: to the end of the day.")
    )
    reason = forms.CharField(
        label=_("Note for staff"), max_length=200, required=False, help_text=_("Patients never see it.")
    )

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on is None or ends_on is None:
            return data
        starts = local_moment(starts_on, data.get("starts_time") or time.min, self.zone)
        ends_time = data.get("ends_time")
        ends = (
            local_moment(ends_on, ends_time, self.zone)
            if ends_time is not None
            else local_moment(ends_on + timedelta(days=1), time.min, self.zone)
        )
        if ends <= starts:
            raise forms.ValidationError(_("The time away must end after it starts."))
        if ends <= timezone.now():
            raise forms.ValidationError(_("That time has already passed."))
        data["starts_at"], data["ends_at"] = starts, ends
        return data


class ClosedDayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=_date_input())
    name = forms.CharField(label=_("Name"), max_length=100, required=False, help_text=_("For example: New Year's Day"))

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if day < timezone.now().astimezone(self.zone).date():
            raise forms.ValidationError(_("That day has already passed."))
        return day
