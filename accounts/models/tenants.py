"""Organizations (tenants), their staff, and the patients they care for."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.people import Patient, User


class Organization(models.Model):
    """A clinic or health system that runs its practice on the platform."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="America/Chicago")
    # Proxy policy for minors cared for here (DESIGN.md: "per organization policy").
    # From that age until 18, sensitive and confidential items are hidden from parents (proxy.policy).
    adolescent_from_age = models.PositiveSmallIntegerField(_("age from which a parent's access is limited"), default=12)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    NURSE = "nurse", _("Nurse")
    FRONT_DESK = "front_desk", _("Front desk")
    BILLING = "billing", _("Billing")
    ORG_ADMIN = "org_admin", _("Organization admin")


class Membership(models.Model):
    """A user works at an organization in one role (a user may hold several)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique_role")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class Enrollment(models.Model):
    """A patient is cared for at an organization, under that organization's MRN."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrollments")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="enrollments")
    mrn = models.CharField(_("medical record number"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="enrollment_unique_mrn"),
            models.UniqueConstraint(fields=["organization", "patient"], name="enrollment_unique_patient"),
        ]
        # A staff search checks the patients a name matches against the desk's enrollments one by one (the
        # planner hashes the whole organization's enrollments with the unique index above, not this one).
        indexes = [models.Index(fields=["patient", "organization"], name="enrollment_patient_org_idx")]

    def __str__(self) -> str:
        return f"{self.patient} at {self.organization} ({self.mrn})"
