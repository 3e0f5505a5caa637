"""Where records come from, and the FHIR resources themselves with their projections.

A resource is stored once per source: (source, type, id) is unique, so a
second import or sync of the same data updates in place or, when its content
hash is unchanged, does nothing at all.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from django.db import models
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.fields import EncryptedTextField
from accounts.models import Organization, Patient, User


class ClientKind(models.TextChoices):
    """How the portal proves itself at a health system's token endpoint (its SMART registration there)."""

    PUBLIC = "public", _("Public: the client id alone")
    SECRET = "secret", _("Confidential: a client secret (client_secret_basic)")
    PRIVATE_KEY_JWT = "private_key_jwt", _("Confidential: the portal's signing key (private_key_jwt)")


class HealthSystem(models.Model):
    """A health system in the directory: where a person can connect to bring records in."""

    name = models.CharField(_("name"), max_length=300)
    city = models.CharField(_("city"), max_length=120, blank=True)
    state = models.CharField(_("state"), max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    vendor = models.CharField(_("vendor"), max_length=120, blank=True)
    fhir_base_url = models.URLField(_("FHIR base URL"), max_length=500, unique=True)
    client_id = models.CharField(
        pgettext_lazy("health system registration", "client id"),
        max_length=200,
        blank=True,
        help_text=_("The id this portal registered with the health system; empty: not connectable yet."),
    )
    client_kind = models.CharField(
        _("client kind"),
        max_length=20,
        choices=ClientKind.choices,
        default=ClientKind.PUBLIC,
        help_text=_(
            "As registered with the health system. The signing key's public half is published at "
            "/.well-known/jwks.json."
        ),
    )
    client_secret = EncryptedTextField(
        _("client secret"), blank=True, help_text=_("Only for a confidential client with a client secret.")
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="health_systems",
        help_text=_("The organization on the platform whose EHR this is, if any."),
    )
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["name"], name="healthsystem_name_idx"),
            models.Index(fields=["city"], name="healthsystem_city_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    CONNECTION = "connection", _("Connected health system")
    UPLOAD = "upload", _("Uploaded file")


class RecordSource(models.Model):
    """One stream of records for one patient: a connection to a health system, or the person's uploads."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="record_sources")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    health_system = models.ForeignKey(
        HealthSystem, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    label = models.CharField(_("name"), max_length=200)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "label"],
                condition=models.Q(kind="upload"),
                name="recordsource_one_upload_label",
            ),
            # Reconnecting a health system for the same person carries on with the same records.
            models.UniqueConstraint(
                fields=["patient", "health_system"],
                condition=models.Q(kind="connection"),
                name="recordsource_one_per_system",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Sensitivity(models.TextChoices):
    NORMAL = "normal", _("Normal")
    SENSITIVE = "sensitive", _("Sensitive")
    CONFIDENTIAL = "confidential", _("Confidential")


class SensitiveCategory(models.TextChoices):
    """The kinds of sensitive item (projections.SENSITIVE_GROUPS), as the patient chooses whom to show them."""

    MENTAL_HEALTH = "mental_health", _("Mental health")
    SUBSTANCE_USE = "substance_use", _("Alcohol and drug use")
    SEXUAL_HEALTH = "sexual_health", _("Sexual and reproductive health")
    HIV = "hiv", _("HIV")
    GENETICS = "genetics", _("Genetic tests")
    RESTRICTED = "restricted", _("Marked confidential by the health system")
    OTHER = "other", _("Other private items")


class FhirResource(models.Model):
    """The raw resource (for detail views and export) and its projection (for every list and chart)."""

    source = models.ForeignKey(RecordSource, on_delete=models.CASCADE, related_name="resources")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="fhir_resources")
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)
    version_id = models.CharField(max_length=64, blank=True)
    last_updated = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField()
    # The projection
    kind = models.CharField(max_length=32)
    effective_at = models.DateTimeField(null=True, blank=True)
    code_system = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=100, blank=True)
    display = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=64, blank=True)
    value_number = models.FloatField(null=True, blank=True)
    value_text = models.TextField(blank=True)
    unit = models.CharField(max_length=64, blank=True)
    ref_low = models.FloatField(null=True, blank=True)
    ref_high = models.FloatField(null=True, blank=True)
    ref_text = models.CharField(max_length=200, blank=True)
    abnormal = models.BooleanField(null=True, blank=True)
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices, default=Sensitivity.NORMAL)
    sensitive_category = models.CharField(max_length=32, blank=True, default="", db_default="")
    details = models.JSONField(default=dict, blank=True)
    # The projections.PROJECTION_VERSION that derived the fields above (0: before versions were kept).
    projection_version = models.PositiveSmallIntegerField(default=0)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "resource_type", "resource_id"], name="fhirresource_unique"),
        ]
        indexes = [
            models.Index(fields=["patient", "kind", "-effective_at"], name="fhirresource_patient_kind_idx"),
            # With the id: a test's values newest first, and preventive care's newest items of each code, read
            # from the index alone.
            models.Index(
                fields=["patient", "code_system", "code", "-effective_at", "-id"], name="fhirresource_code_idx"
            ),
            # The timeline (everything, newest first) and "new since your last visit" read a page of a large
            # record in its order instead of sorting the whole record.
            models.Index(fields=["patient", "-effective_at", "-id"], name="fhirresource_patient_time_idx"),
            models.Index(fields=["patient", "-first_seen_at", "-id"], name="fhirresource_patient_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any], **options: Any) -> Self:
        """A row read from the database, made the way Model.from_db makes it but without Model.__init__.

        The record's pages read their rows by the hundred, and __init__ (signals, defaults, a check per field)
        costs more than reading the row. The loaded fields are set as __init__ sets them; those not loaded stay
        deferred (loaded on first use, as usual). No pre_init or post_init receiver may listen to this model:
        tests/records/test_record_value_tags.py checks that there is none.
        """
        if options:  # what a later Django may ask of loading: its own way
            return super().from_db(db, field_names, values, **options)
        instance = cls.__new__(cls)
        instance.__dict__.update(zip(field_names, values, strict=True))
        instance._state = ModelState()
        instance._state.adding = False
        instance._state.db = db
        return instance


class RunKind(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    SYNC = "sync", _("Sync")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One pass of the pipeline over a file or a sync, with its progress and counts."""

    source = models.ForeignKey(RecordSource, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    new = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveSmallIntegerField(default=0)
    progress_total = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text=_("What stopped the run, in plain words (never health data)."))
    # Uploads: who asked, on what basis (for the audit row the worker writes), the one-time key of the form
    # that asked (a second POST of it finds this run), and the file waiting for the worker (deleted after).
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    basis = models.CharField(max_length=32, blank=True)
    idempotency_key = models.UUIDField(null=True, blank=True, editable=False)
    upload = models.FileField(upload_to="records-uploads/", max_length=200, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="importrun_one_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def audit_subject(self) -> Patient:
        return self.source.patient

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class ImportIssue(models.Model):
    """A resource that could not be imported; the run went on without it."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.message


class ResourceIdentifier(models.Model):
    """Business identifiers of reference data, so conditional references can find their target."""

    source = models.ForeignKey(RecordSource, on_delete=models.CASCADE, related_name="+")
    resource_type = models.CharField(max_length=64)
    system = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=200)
    resource_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "resource_type", "system", "value"], name="resourceidentifier_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}?identifier={self.system}|{self.value}"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("connection status", "Connected")  # also a heading elsewhere
    NEEDS_REAUTHORIZATION = "needs_reauth", _("Needs signing in again")
    DISCONNECTED = "disconnected", _("Disconnected")


class Connection(models.Model):
    """A patient's authorization at a health system (SMART on FHIR), and where its sync stands."""

    source = models.OneToOneField(RecordSource, on_delete=models.CASCADE, related_name="connection")
    health_system = models.ForeignKey(HealthSystem, on_delete=models.PROTECT, related_name="connections")
    fhir_patient_id = models.CharField(max_length=64)
    scope = models.TextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    access_granted_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the access the person granted at sign-in ends, if the health system says (else: until revoked)."
        ),
    )
    token_endpoint = models.URLField(max_length=500, blank=True)
    revocation_endpoint = models.URLField(
        max_length=500, blank=True, help_text=_("Where tokens are revoked on disconnect (from discovery, if offered).")
    )
    fhir_user = models.CharField(
        max_length=200, blank=True, help_text=_("Who signed in at the health system (the id_token's fhirUser).")
    )
    status = models.CharField(max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE)
    status_detail = models.CharField(max_length=300, blank=True)
    # The health system's own words when it refused to renew access (RFC 6749 section 5.2), cleaned and capped.
    refusal_error = models.CharField(max_length=40, blank=True)
    refusal_description = models.CharField(max_length=300, blank=True)
    refusal_uri = models.URLField(max_length=500, blank=True)
    connected_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    connected_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_lease_until = models.DateTimeField(null=True, blank=True, help_text=_("Held while a sync runs (SQLite)."))
    cursors = models.JSONField(
        default=dict, blank=True, help_text=_("Per resource type: the _lastUpdated from which the next sync asks.")
    )
    types_not_shared = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            "Per resource type the health system does not share: why (outside the granted scope, or refused "
            "with an HTTP status) and when this was last seen."
        ),
    )

    def __str__(self) -> str:
        return f"{self.health_system} for {self.source.patient}"

    @property
    def audit_subject(self) -> Patient:
        return self.source.patient


class SensitiveShare(models.Model):
    """The patient's choice to show one helper a sensitive item (all its copies) or a whole kind of them.

    Read by records.selectors.visible_to; never made for a parent of a minor (an adolescent's private
    items stay hidden from parents whatever anyone chooses, see proxy.policy).
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sensitive_shares")
    grant = models.ForeignKey("proxy.ProxyGrant", on_delete=models.CASCADE, related_name="sensitive_shares")
    resource = models.ForeignKey(FhirResource, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=32, blank=True, choices=SensitiveCategory.choices)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(resource__isnull=False) & models.Q(category=""))
                | (models.Q(resource__isnull=True) & ~models.Q(category="")),
                name="sensitiveshare_item_or_category",
            ),
            models.UniqueConstraint(fields=["grant", "resource"], name="sensitiveshare_unique_item"),
            models.UniqueConstraint(
                fields=["grant", "category"], condition=~models.Q(category=""), name="sensitiveshare_unique_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or self.resource_id} shown to grant {self.grant_id}"

    @property
    def audit_subject(self) -> Patient:
        return self.patient


class ResultRelease(models.Model):
    """A sensitive result the patient chose to see (after talking with their clinician), while results wait."""

    resource = models.OneToOneField(FhirResource, on_delete=models.CASCADE, related_name="release")
    released_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.resource_id} released"


class ShareExpiry(models.IntegerChoices):
    """How long a shared link works (days); a link always ends."""

    DAY = 1, _("1 day")
    WEEK = 7, _("7 days")
    MONTH = 30, _("30 days")
    QUARTER = 90, _("90 days")


class ShareContent(models.TextChoices):
    WHOLE = "whole", _("The whole record")
    DATES = "dates", _("Only a range of dates")


class ShareLink(models.Model):
    """A SMART Health Link to a snapshot of a person's record, made by them or someone acting for them.

    The snapshot is encrypted at creation (a compact JWE under the link's key) and never changes; the key is
    kept encrypted here so that the person can show the link's QR code again. The manifest token in the URL
    is random and unguessable; without the key, what it answers cannot be read.
    """

    MAX_FAILED_ATTEMPTS = 10

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="share_links")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    basis = models.CharField(max_length=32, blank=True)  # on what basis it was made (the actor's)
    made_hiding_sensitive = models.BooleanField(
        default=False, help_text=_("Made by someone from whom sensitive items stay hidden (so they are not in it).")
    )
    label = models.CharField(_("label"), max_length=80)
    token = models.CharField(max_length=64, unique=True, editable=False)
    key = EncryptedTextField(editable=False)
    payload = models.TextField(editable=False, help_text=_("The record as shared: a compact JWE under the key."))
    entries = models.PositiveIntegerField(default=0)
    passcode_hash = models.CharField(max_length=128, blank=True, editable=False)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    content = models.CharField(max_length=16, choices=ShareContent.choices, default=ShareContent.WHOLE)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"], name="sharelink_patient_idx")]

    def __str__(self) -> str:
        return self.label

    @property
    def audit_subject(self) -> Patient:
        return self.patient

    @property
    def has_passcode(self) -> bool:
        return bool(self.passcode_hash)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def works(self) -> bool:
        return self.revoked_at is None and not self.is_locked and not self.is_expired

    @property
    def remaining_attempts(self) -> int:
        return max(0, self.MAX_FAILED_ATTEMPTS - self.failed_attempts)

    @property
    def state(self) -> str:
        """Where the link stands, for its page: "revoked", "locked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.is_locked:
            return "locked"
        return "expired" if self.is_expired else "active"


class ShareOutcome(models.TextChoices):
    OPENED = "opened", _("Opened")
    WRONG_PASSCODE = "wrong_passcode", _("Wrong passcode")
    REFUSED = "refused", _("Refused: the link had ended")


class ShareOpening(models.Model):
    """Someone used a shared link: when, who they said they were, and what they got."""

    RECIPIENT_MAX = 100

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="openings")
    at = models.DateTimeField(default=timezone.now)
    recipient = models.CharField(max_length=RECIPIENT_MAX, blank=True)
    outcome = models.CharField(max_length=16, choices=ShareOutcome.choices)

    class Meta:
        indexes = [models.Index(fields=["link", "-at"], name="shareopening_link_idx")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.at:%Y-%m-%d %H:%M}"


# Patient-entered data --------------------------------------------------------------------------------------
# What the person (or a caregiver for them) writes down themselves: a journal and home measurements. Kept in
# tables of their own, never as FhirResource rows, so that nothing a person types is ever mistaken for what a
# health system sent.


class EntryKind(models.TextChoices):
    SYMPTOM = "symptom", _("Symptom")
    SIDE_EFFECT = "side_effect", _("Side effect")
    QUESTION = "question", _("Question for the next visit")
    NOTE = "note", _("Note")


class QuestionState(models.TextChoices):
    OPEN = "open", _("Still to ask")
    ASKED = "asked", _("Asked")
    ANSWERED = "answered", _("Answered")


JOURNAL_TEXT_MAX = 2000


class JournalEntry(models.Model):
    """One entry of a person's journal: a symptom, a side effect, a question for the next visit, or a note."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="journal_entries")
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    text = models.TextField(_("what happened"), max_length=JOURNAL_TEXT_MAX)
    happened_on = models.DateField(_("day"), default=timezone.localdate)
    question_state = models.CharField(max_length=10, choices=QuestionState.choices, default=QuestionState.OPEN)
    # Who wrote it: the account, and the name it had then (kept when the account goes).
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-happened_on", "-created_at"], name="journal_patient_day_idx"),
            models.Index(fields=["patient", "kind", "question_state"], name="journal_patient_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values), name="journal_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.happened_on}"

    @property
    def audit_subject(self) -> Patient:
        return self.patient

    @property
    def is_question(self) -> bool:
        return self.kind == EntryKind.QUESTION

    @property
    def is_open_question(self) -> bool:
        return self.kind == EntryKind.QUESTION and self.question_state == QuestionState.OPEN


class MeasurementKind(models.TextChoices):
    BLOOD_PRESSURE = "blood_pressure", _("Blood pressure")
    WEIGHT = "weight", _("Weight")
    GLUCOSE = "glucose", _("Blood glucose")


class GlucoseContext(models.TextChoices):
    FASTING = "fasting", _("Fasting")
    BEFORE_MEAL = "before_meal", _("Before a meal")
    AFTER_MEAL = "after_meal", _("After a meal")
    OTHER = "other", pgettext_lazy("glucose context", "Other")


# Units as stored (UCUM codes, the ones records.units converts between).
BP_UNIT = "mm[Hg]"
WEIGHT_UNITS = ("kg", "[lb_av]")
GLUCOSE_UNITS = ("mg/dL", "mmol/L")


class HomeMeasurement(models.Model):
    """A reading taken at home: blood pressure (two numbers), weight or blood glucose, in the unit it was taken in."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="home_measurements")
    kind = models.CharField(_("measurement"), max_length=20, choices=MeasurementKind.choices)
    measured_at = models.DateTimeField(_("when measured"), default=timezone.now)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)  # blood pressure only, mmHg
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)  # weight and glucose
    unit = models.CharField(max_length=12)
    glucose_context = models.CharField(max_length=20, choices=GlucoseContext.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "kind", "-measured_at"], name="home_patient_kind_when_idx"),
            models.Index(fields=["patient", "-measured_at"], name="home_patient_when_idx"),
        ]
        constraints = [
            # The database keeps each kind whole, whatever a form forgot.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="blood_pressure",
                        systolic__isnull=False,
                        diastolic__isnull=False,
                        value__isnull=True,
                        unit=BP_UNIT,
                    )
                    | models.Q(kind="weight", value__isnull=False, systolic__isnull=True, unit__in=WEIGHT_UNITS)
                    | models.Q(kind="glucose", value__isnull=False, systolic__isnull=True, unit__in=GLUCOSE_UNITS)
                ),
                name="home_measurement_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.measured_at:%Y-%m-%d}"

    @property
    def audit_subject(self) -> Patient:
        return self.patient
