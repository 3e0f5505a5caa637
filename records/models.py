"""Where records come from, and the FHIR resources themselves with their projections.

A resource is stored once per source: (source, type, id) is unique, so a
second import or sync of the same data updates in place or, when its content
hash is unchanged, does nothing at all.
"""

from __future__ import annotations

from django.db import models
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
