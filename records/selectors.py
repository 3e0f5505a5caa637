"""Reads of health records: the one rule for which stored resources an actor may read.

Every page, count and export reads FhirResource rows through `visible_to(actor)`
(or `visible_for_subjects` for pages about several people at once); a test
(tests/records/test_resource_reads.py) keeps any other module from querying
them directly. The rule: the subject's own resources, only with the records
scope, and only the normal ones when the access layer says sensitive and
confidential items stay hidden (`hide_sensitive`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.actors import Actor, Scope
from accounts.models import Organization, Patient
from accounts.models.audit import Basis
from records.kinds import resource_type_label
from records.models import Connection, FhirResource, ImportRun, ResultRelease, RunStatus, SensitiveShare, Sensitivity

if TYPE_CHECKING:
    from uuid import UUID

    from proxy.access import Subject


# Test results that wait, while the patient asks for it, until they say they have talked them over.
HELD_RESULT_TYPES = ("Observation", "DiagnosticReport")


def _held_results() -> Q:
    """Sensitive results (vital signs aside) the patient has not yet chosen to see."""
    return (
        Q(resource_type__in=HELD_RESULT_TYPES)
        & ~Q(kind="vital")
        & ~Q(sensitivity=Sensitivity.NORMAL)
        & ~Q(Exists(ResultRelease.objects.filter(resource=OuterRef("pk"))))
    )


def _shown_to(grant_id: UUID | None) -> Q:
    """The sensitive items the patient chose to show this helper: one by one, or a whole kind of them."""
    if grant_id is None:
        return Q(pk__in=[])
    shares = SensitiveShare.objects.filter(grant_id=grant_id).exclude(grant__legal_basis=Basis.PARENT_OF_MINOR)
    return Q(pk__in=shares.filter(resource__isnull=False).values("resource_id")) | Q(
        sensitive_category__in=shares.exclude(category="").values("category")
    )


def _rule(patient: Patient, *, hide_sensitive: bool, grant_id: UUID | None) -> Q:
    rule = Q(patient_id=patient.pk)
    if hide_sensitive:
        rule &= Q(sensitivity=Sensitivity.NORMAL) | _shown_to(grant_id)
    if patient.results_after_discussion:
        rule &= ~_held_results()
    return rule


def visible_to(actor: Actor) -> QuerySet[FhirResource]:
    """The resources the actor may read for the subject they act for (none without the records scope).

    Sensitive items are left out where the access layer hides them, except those the patient chose to
    show this helper; sensitive results wait for everyone while the patient asks them to (held_results).
    """
    if actor.subject is None or Scope.RECORDS not in actor.scopes:
        return FhirResource.objects.none()
    return FhirResource.objects.filter(
        _rule(actor.subject, hide_sensitive=actor.hide_sensitive, grant_id=actor.grant_id)
    )


# What a refill needs: the medicine's orders and the pharmacy's dispenses (messaging.refills reads them).
MEDICATION_SUPPLY_TYPES = ("MedicationRequest", "MedicationDispense")


def medication_supply_for_refills(actor: Actor) -> QuerySet[FhirResource]:
    """The subject's medication orders and dispenses, for asking a refill and for refill reminders.

    Needs the refills scope, not the records scope: someone who asks for refills must see the names of the
    medicines they may ask for, and nothing else of the record. The same hiding as `visible_to` applies:
    sensitive and confidential items stay hidden where the access layer hides them (an adolescent's, above
    all), except those the patient chose to show this helper.
    """
    if actor.subject is None or Scope.REFILLS not in actor.scopes:
        return FhirResource.objects.none()
    return FhirResource.objects.filter(
        _rule(actor.subject, hide_sensitive=actor.hide_sensitive, grant_id=actor.grant_id),
        resource_type__in=MEDICATION_SUPPLY_TYPES,
    )


def patients_with_medication_orders() -> QuerySet[FhirResource, UUID]:
    """The ids (`patient_id` values) of everyone with a medication order: where the refill reminders look.

    Ids only: what each person may read of them is decided by `medication_supply_for_refills` for each reader.
    """
    return (
        FhirResource.objects.filter(resource_type="MedicationRequest")
        .values_list("patient_id", flat=True)
        .distinct()
        .order_by()
    )


def held_results(actor: Actor) -> QuerySet[FhirResource]:
    """For the patient alone: the sensitive results waiting until they choose to see them."""
    patient = actor.subject
    if patient is None or not actor.acts_for_self or not patient.results_after_discussion:
        return FhirResource.objects.none()
    if Scope.RECORDS not in actor.scopes:
        return FhirResource.objects.none()
    return FhirResource.objects.filter(Q(patient_id=patient.pk) & _held_results())


def _is_actors(actor: Actor, subject: Subject) -> bool:
    """A subject from proxy.access.subjects_for(actor): the actor's own record, or one of their grants."""
    if subject.grant is None:
        return actor.own_record is not None and subject.patient.pk == actor.own_record.pk
    return actor.user is not None and subject.grant.grantee_id == actor.user.pk


def visible_for_subjects(actor: Actor, subjects: list[Subject]) -> QuerySet[FhirResource]:
    """The same rule for several people at once (the family view), in one query whatever their number.

    Each subject counts as `visible_to` would for the actor acting for them: with the records scope,
    without sensitive items where `hide_sensitive` (but those the patient chose to show), and without
    results that wait. Subjects that are not the actor's are left out.
    """
    rules = [
        _rule(
            subject.patient,
            hide_sensitive=subject.hide_sensitive,
            grant_id=subject.grant.pk if subject.grant is not None else None,
        )
        for subject in subjects
        if Scope.RECORDS in subject.scopes and _is_actors(actor, subject)
    ]
    if not rules:
        return FhirResource.objects.none()
    return FhirResource.objects.filter(reduce(or_, rules))


@dataclass(frozen=True)
class NotShared:
    label: str
    reason: str  # "scope": left out of what the person shared at sign-in; "refused": the server would not
    status: int | None
    since: datetime | None


@dataclass(frozen=True)
class ConnectionHealth:
    """What a connection's page tells people: where the records stand and what needs them."""

    runs: list[ImportRun]
    running: ImportRun | None
    last_run: ImportRun | None  # the latest finished run
    records: int
    not_shared: list[NotShared]

    @property
    def last_run_failed(self) -> bool:
        return self.last_run is not None and self.last_run.status == RunStatus.FAILED


def connection_health(actor: Actor, connection: Connection) -> ConnectionHealth:
    """The page's reads for one connection (checked by records.access.access_connection_by_id)."""
    runs = list(connection.source.runs.order_by("-started_at")[:5])
    not_shared = [
        NotShared(
            label=resource_type_label(kind),
            reason=str(note.get("reason") or "refused"),
            status=note.get("status") if isinstance(note.get("status"), int) else None,
            since=parse_datetime(str(note["at"])) if note.get("at") else None,
        )
        for kind, note in sorted((connection.types_not_shared or {}).items())
        if isinstance(note, dict)
    ]
    return ConnectionHealth(
        runs=runs,
        running=next((run for run in runs if run.status == RunStatus.RUNNING), None),
        last_run=next((run for run in runs if run.status != RunStatus.RUNNING), None),
        records=visible_to(actor).filter(source=connection.source).count(),
        not_shared=sorted(not_shared, key=lambda item: item.label),
    )


# The staff side: an organization's own records ---------------------------------------------------------

UPCOMING = "upcoming"  # organization_items(order=...): from now on, soonest first
RECENT = "recent"  # newest first


def organization_items(
    organization: Organization,
    patient: Patient,
    *,
    kinds: tuple[str, ...],
    limit: int,
    order: str = RECENT,
    include_sensitive: bool = False,
    now: datetime | None = None,
) -> list[FhirResource]:
    """For an organization's staff: the patient's items of `kinds` that came from this organization's own records.

    Only resources whose source is a health system linked to `organization` (DESIGN.md: "records from that
    source are then this organization's for its staff, and nothing from any other source is shown to them");
    never the patient's uploads, entries or other health systems. The caller has checked that the staff member
    works at `organization` and that the patient is enrolled there (a thread of that organization's desk).
    Sensitive and confidential items are the organization's own too, but left out unless the caller asks for
    them (`include_sensitive`: clinical roles only, messaging decides). At most `limit` rows, one query.
    """
    rows = FhirResource.objects.filter(
        patient_id=patient.pk, kind__in=kinds, source__health_system__organization_id=organization.pk
    )
    if not include_sensitive:
        rows = rows.filter(sensitivity=Sensitivity.NORMAL)
    if order == UPCOMING:
        moment = now or timezone.now()
        rows = rows.filter(effective_at__gte=moment).exclude(status__in=("cancelled", "noshow", "entered-in-error"))
        rows = rows.order_by("effective_at", "pk")
    else:
        rows = rows.filter(effective_at__isnull=False).order_by("-effective_at", "-pk")
    return list(rows.select_related("source")[: max(0, limit)])
