"""Providers, where and how they see patients, when they are free, and the appointments booked with them.

A provider is a staff member who sees patients at an organization. Their weekly availability is a set of
windows in local wall-clock time at a location (or for video and phone visits); exceptions block time
(a vacation, a meeting) and closed days close the whole organization. Slots are worked out from these by
scheduling.slots, never stored. An appointment holds one provider's time: the database refuses a second
appointment that overlaps it (an exclusion constraint on Postgres, see the migration; the same start at
least everywhere).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, Patient, User


def default_reminder_offsets() -> list[int]:
    return [7 * 24 * 60, 24 * 60, 2 * 60]  # minutes before the visit: 7 days, 1 day, 2 hours


class SchedulingPolicy(models.Model):
    """An organization's booking rules (the defaults hold for an organization without one)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="scheduling_policy")
    booking_horizon_days = models.PositiveSmallIntegerField(_("bookable up to (days ahead)"), default=90)
    min_notice_minutes = models.PositiveIntegerField(_("minimum notice to book (minutes)"), default=120)
    cancel_cutoff_minutes = models.PositiveIntegerField(
        _("online cancelling and moving closes (minutes before)"), default=24 * 60
    )
    reminder_offsets_minutes = models.JSONField(default=default_reminder_offsets, blank=True)
    phone = models.CharField(_("phone number for scheduling"), max_length=40, blank=True)

    def __str__(self) -> str:
        return f"{self.organization}: {self.booking_horizon_days} days ahead"


class ClosedDay(models.Model):
    """A day the whole organization is closed (a public holiday): no slot that day, anywhere."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="closed_days")
    day = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="closed_day_unique")]


class Location(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # The wall clock of its availability; empty: the organization's.
    time_zone = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name

    @property
    def zone_name(self) -> str:
        return self.time_zone or self.organization.time_zone


class Mode(models.TextChoices):
    IN_PERSON = "in_person", pgettext_lazy("visit mode", "In person")
    VIDEO = "video", pgettext_lazy("visit mode", "Video")
    PHONE = "phone", pgettext_lazy("visit mode", "Phone")


class PatientStatus(models.TextChoices):
    ANY = "any", _("New and established patients")
    NEW = "new", _("New patients only")
    ESTABLISHED = "established", _("Established patients only")


class Provider(models.Model):
    """A staff member who sees patients, at one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="providers")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_roles")
    display_name = models.CharField(_("name shown to patients"), max_length=200)
    title = models.CharField(_("title"), max_length=120, blank=True)  # "Family medicine", "Nurse practitioner"
    locations = models.ManyToManyField(Location, blank=True, related_name="providers")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], condition=Q(user__isnull=False), name="provider_unique_user"
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class VisitType(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="visit_types")
    name = models.CharField(_("name"), max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(_("length (minutes)"), default=20)
    modes = models.JSONField(default=list)  # Mode values this visit may take
    patients = models.CharField(max_length=12, choices=PatientStatus.choices, default=PatientStatus.ANY)
    needs_approval = models.BooleanField(_("staff approve each booking"), default=False)
    bookable_online = models.BooleanField(_("patients may book it themselves"), default=True)
    providers = models.ManyToManyField(Provider, blank=True, related_name="visit_types")
    # Pre-visit forms to fill before it (keys of scheduling.questionnaires.FORMS).
    forms = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name

    @property
    def mode_labels(self) -> list[str]:
        return [str(Mode(mode).label) for mode in self.modes if mode in Mode.values]


class WeeklyAvailability(models.Model):
    """A provider's recurring window: every `weekday` from `starts` to `ends`, local time at the location."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField()  # ISO: 1 Monday … 7 Sunday
    starts = models.TimeField()
    ends = models.TimeField()
    # Where: a location for in-person visits; its clock is the window's (video and phone windows without a
    # location follow the organization's clock).
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    modes = models.JSONField(default=list)  # Mode values offered in this window
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)  # inclusive

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=1, weekday__lte=7), name="availability_weekday"),
            models.CheckConstraint(condition=Q(starts__lt=models.F("ends")), name="availability_starts_before_ends"),
        ]

    @property
    def mode_labels(self) -> list[str]:
        return [str(Mode(mode).label) for mode in self.modes if mode in Mode.values]


class AvailabilityException(models.Model):
    """Time a provider is away (a vacation, a meeting): no slot overlaps it."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="exceptions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)  # staff only

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=models.F("ends_at")), name="exception_starts_before_ends")
        ]


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the clinic to confirm")
    BOOKED = "booked", _("Booked")
    ARRIVED = "arrived", _("Arrived")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("Missed")


# The statuses that hold the provider's time (a cancelled visit frees it; a missed one is over).
HOLDING_STATUSES = (AppointmentStatus.REQUESTED, AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="appointments")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    reason = models.CharField(_("reason for the visit"), max_length=500, blank=True)
    questions = models.TextField(_("questions for the provider"), blank=True, max_length=4000)
    booked_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    booked_by_name = models.CharField(max_length=200, blank=True)  # kept when the account goes
    booked_by_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    video_room = models.CharField(max_length=64, blank=True, default="")  # a video visit's room (scheduling.video)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="appointment_starts_before_ends"
            ),
            # Everywhere: two held appointments never start at the same moment with one provider. Overlaps that
            # start apart are refused on Postgres by appointment_no_overlap (migration 0001).
            models.UniqueConstraint(
                fields=["provider", "starts_at"],
                condition=Q(status__in=HOLDING_STATUSES),
                name="appointment_one_start_per_provider",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "starts_at"], name="appointment_provider_time"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_time"),
            models.Index(fields=["organization", "starts_at"], name="appointment_org_time"),
        ]

    def __str__(self) -> str:
        return f"appointment {self.pk}"

    @property
    def holds_time(self) -> bool:
        return self.status in HOLDING_STATUSES


class ReminderChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    TEXT = "text", _("Text message")


class AppointmentReminder(models.Model):
    """One reminder of one visit to one person by one channel, at one of the organization's offsets: written
    when it falls due, sent once (the unique key), skipped when the visit no longer holds."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    offset_minutes = models.PositiveIntegerField()
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)  # the visit was cancelled or moved meanwhile
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "recipient", "offset_minutes", "channel"], name="reminder_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="reminder_unsent",
                condition=Q(sent_at__isnull=True, skipped_at__isnull=True),
            )
        ]


class WaitlistEntry(models.Model):
    """A person who would take an earlier time: of a kind of visit, with a provider or anyone, before a day."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist_entries")
    visit_type = models.ForeignKey(VisitType, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The visit to move earlier when an offer is taken (none: a new visit is booked).
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    wanted_before = models.DateTimeField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)  # took an offer, or left the list

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="waitlist_in_order")]


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Taken")
    GONE = "gone", _("Taken by someone else")


class WaitlistOffer(models.Model):
    """A freed time offered by email to one waiting person; the link's secret is kept only as its digest."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    digest = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OFFERED)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "provider", "starts_at"], name="offer_once_per_entry_and_time")
        ]


class CalendarFeed(models.Model):
    """A person's private calendar address: the visits of everyone they act for with the scheduling scope.

    The address holds a random secret, kept here only as its digest; making a new one ends the old one."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_feeds")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)


class CheckIn(models.Model):
    """Before a visit: the person confirmed their details, insurance, medicines and allergies, or said what
    changed (staff read it at the desk)."""

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="check_in")
    details_unchanged = models.BooleanField(default=False)
    insurance_unchanged = models.BooleanField(default=False)
    medicines_unchanged = models.BooleanField(default=False)
    changes = models.TextField(blank=True, max_length=2000)
    by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)


class FormResponse(models.Model):
    """A pre-visit form's answers, as the FHIR QuestionnaireResponse they make, with the instrument's score."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="form_responses")
    form = models.CharField(max_length=20)  # a key of scheduling.questionnaires.FORMS
    response = models.JSONField()  # the QuestionnaireResponse resource
    total = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=40)
    flagged = models.BooleanField(default=False)  # an item the care team must see at once (PHQ-9's ninth)
    by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "form"], name="one_response_per_form")]
