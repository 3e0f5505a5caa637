"""The append-only, hash-chained audit log.

Rows are inserted as things happen (cheap, no lock shared between requests).
A background step seals them into the chain in insertion order: each AuditSeal
holds the SHA-256 of the previous seal's hash and the event's canonical
content, so changing, removing or reordering any sealed event breaks every
hash after it. Both tables refuse updates and deletes, in the model layer and,
on Postgres, in the database itself (see migration 0002).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.people import Patient, User

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """An attempt to change or remove an audit row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit rows cannot be updated.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit rows cannot be deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit rows cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit rows cannot be deleted.")


class Basis(models.TextChoices):
    """On what basis the actor acted for the subject."""

    SELF = "self", _("Own record")
    PATIENT_CONSENT = "patient_consent", _("Patient's consent")
    PARENT_OF_MINOR = "parent_of_minor", _("Parent of a minor")
    COURT_GUARDIANSHIP = "court_guardianship", _("Court-appointed guardianship")
    POWER_OF_ATTORNEY = "power_of_attorney", _("Power of attorney")
    OTHER = "other", _("Other (with a document)")
    STAFF = "staff", _("Care team")
    PLATFORM = "platform", _("Platform administration")
    SYSTEM = "system", _("Automatic")
    ANONYMOUS = "anonymous", _("Not signed in")


class AuditEvent(AppendOnlyModel):
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=254, blank=True)
    subject_patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(max_length=32, default=Basis.SELF)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject_patient", "-occurred_at"], name="audit_subject_time_idx"),
            models.Index(fields=["actor_user", "-occurred_at"], name="audit_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"

    def canonical(self) -> bytes:
        """The event's content exactly as the chain hashes it."""
        content = [
            self.pk,
            self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            self.actor_user_id,
            self.actor_name,
            str(self.subject_patient_id) if self.subject_patient_id else None,
            self.basis,
            self.action,
            self.object_type,
            self.object_id,
            self.ip,
            self.user_agent,
            self.detail,
        ]
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + event.canonical()).hexdigest()


class AuditSeal(AppendOnlyModel):
    """An event's place in the chain. `seq` runs 1, 2, 3 … with no gap."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    sealed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"seal {self.seq} of event {self.event_id}"
