"""Who may act for whom: grants, invitations and access requests.

Nothing here is ever deleted: a grant that ends keeps its row, with its status
and the reason, and every change is also written to the audit log.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Patient, User
from accounts.models.audit import Basis

# The legal bases are part of the audit vocabulary (accounts.models.audit.Basis).
LEGAL_BASES = (
    Basis.PATIENT_CONSENT,
    Basis.PARENT_OF_MINOR,
    Basis.COURT_GUARDIANSHIP,
    Basis.POWER_OF_ATTORNEY,
    Basis.OTHER,
)
LEGAL_BASIS_CHOICES = [(basis.value, basis.label) for basis in LEGAL_BASES]


class GrantStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    DENIED = "denied", _("Denied")


class ProxyGrant(models.Model):
    """A person (grantee) may act for a patient, on a legal basis, within scopes, for a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grantee = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proxy_grants",
        help_text=_("Empty while an invitation waits to be accepted."),
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="proxy_grants")
    legal_basis = models.CharField(max_length=32, choices=LEGAL_BASIS_CHOICES)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    scopes = models.JSONField(default=list, help_text=_("Sections the grantee may use (accounts.actors.Scope)."))
    allows_sensitive = models.BooleanField(
        _("may see sensitive and confidential items"),
        default=False,
        help_text=_(
            "Set by the patient, or by someone who sees these items; a parent of an adolescent never sees them."
        ),
    )
    status = models.CharField(max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status_reason = models.TextField(
        _("reason"), blank=True, help_text=_("Why it was granted, denied, revoked or ended.")
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    majority_notice_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One live grant per caregiver and patient: the database decides, not Python.
            models.UniqueConstraint(
                fields=["grantee", "patient"],
                condition=Q(status__in=["pending", "active"]),
                name="proxygrant_one_live_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(grantee__isnull=False),
                name="proxygrant_active_has_grantee",
            ),
        ]
        indexes = [
            models.Index(fields=["grantee", "status"], name="proxygrant_grantee_idx"),
            models.Index(fields=["patient", "status"], name="proxygrant_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grantee or '(invited)'} for {self.patient} ({self.get_status_display()})"

    @property
    def audit_subject(self) -> Patient:
        return self.patient

    @property
    def grantee_label(self) -> str:
        """Who holds it: the grantee's name or email, or the invited address while an invitation waits."""
        if self.grantee is not None:
            return self.grantee.full_name or self.grantee.email
        try:
            invitation = self.invitation
        except ProxyInvitation.DoesNotExist:
            invitation = None
        return invitation.email if invitation is not None else ""


class ProxyInvitation(models.Model):
    """A patient invited someone by email; the signed link is single-use and expires."""

    grant = models.OneToOneField(ProxyGrant, on_delete=models.PROTECT, related_name="invitation")
    email = models.EmailField()
    nonce = models.CharField(max_length=64, unique=True)
    link_expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"invitation to {self.email}"


class AccessRequest(models.Model):
    """A caregiver asks for access; an organization or platform admin decides."""

    grant = models.OneToOneField(
        ProxyGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="access_request"
    )
    requester = models.ForeignKey(User, on_delete=models.PROTECT, related_name="access_requests")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests",
        help_text=_("Where the patient is cared for; its admins review. Empty: the platform reviews."),
    )
    patient = models.ForeignKey(
        Patient,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests",
        help_text=_("An existing chart, when known; else the admin matches or creates one."),
    )
    patient_given_name = models.CharField(_("given name"), max_length=100)
    patient_family_name = models.CharField(_("family name"), max_length=100)
    patient_birth_date = models.DateField(_("date of birth"))
    relationship = models.CharField(_("relationship"), max_length=100)
    legal_basis = models.CharField(max_length=32, choices=LEGAL_BASIS_CHOICES)
    requested_scopes = models.JSONField(default=list)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(max_length=16, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    continues_grant = models.ForeignKey(
        ProxyGrant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="continuation_requests",
        help_text=_("A parent's grant ending at 18 that this request would carry on."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "organization"], name="accessrequest_queue_idx")]

    def __str__(self) -> str:
        return f"request by {self.requester} for {self.patient_given_name} {self.patient_family_name}"

    @property
    def audit_subject(self) -> Patient | None:
        return self.patient


class AccessRequestDocument(models.Model):
    """A document supporting a request, kept outside the web root and served only through a checked view."""

    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to="access-requests/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.original_name

    @property
    def audit_subject(self) -> Patient | None:
        return self.request.patient
