"""The access policy every feature asks: whom a person may act for, and with what.

A grant counts only while it is live (see proxy.policy): active, started, not
expired, and for a parent of a minor, only until the 18th birthday. Checked at
every request, so a revocation or an expiry takes effect on the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.actors import Actor, Scope, actor_for
from accounts.models import Enrollment, Patient, User
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from proxy.policy import AgePolicy, EffectiveAccess, care_today, effective_access, policy_for


def age_policy_for(patient: Patient) -> AgePolicy:
    """Uses prefetched enrollments when present (see live_grant_candidates)."""
    return policy_for(
        [
            AgePolicy(e.organization.adolescent_from_age, e.organization.adolescent_hides_sensitive)
            for e in patient.enrollments.all()
        ]
    )


def grant_access(grant: ProxyGrant, now: datetime | None = None) -> EffectiveAccess | None:
    now = now or timezone.now()
    return effective_access(
        legal_basis=grant.legal_basis,
        scopes=frozenset(grant.scopes) & Scope.ALL,
        status=grant.status,
        starts_at=grant.starts_at,
        expires_at=grant.expires_at,
        birth_date=grant.patient.birth_date,
        now=now,
        today=care_today(now),
        policy=age_policy_for(grant.patient),
    )


def live_grant_candidates(user: User) -> QuerySet[ProxyGrant]:
    """Active grants held by `user`, with what the age rules need, in one round of queries."""
    return (
        ProxyGrant.objects.filter(grantee=user, status=GrantStatus.ACTIVE)
        .select_related("patient")
        .prefetch_related(Prefetch("patient__enrollments", queryset=Enrollment.objects.select_related("organization")))
        .order_by("patient__given_name", "patient__family_name")
    )


@dataclass(frozen=True)
class Subject:
    """Someone the actor may act for, and how."""

    patient: Patient
    basis: str
    scopes: frozenset[str]
    grant: ProxyGrant | None
    hide_sensitive: bool = False

    @property
    def is_self(self) -> bool:
        return self.grant is None


def subjects_for(actor: Actor, *, now: datetime | None = None) -> list[Subject]:
    """The actor's own record first, then everyone they hold a live grant for."""
    if actor.user is None:
        return []
    subjects: list[Subject] = []
    if actor.own_record is not None:
        subjects.append(Subject(patient=actor.own_record, basis=Basis.SELF, scopes=Scope.ALL, grant=None))
    for grant in live_grant_candidates(actor.user):
        access = grant_access(grant, now)
        if access is not None:
            subjects.append(
                Subject(
                    patient=grant.patient,
                    basis=grant.legal_basis,
                    scopes=access.scopes,
                    grant=grant,
                    hide_sensitive=access.hide_sensitive,
                )
            )
    return subjects


class AccessEndedError(Exception):
    """The subject a session was acting for is no longer reachable (revoked, expired, 18th birthday)."""

    def __init__(self, patient_name: str) -> None:
        super().__init__(patient_name)
        self.patient_name = patient_name


def resolve_actor(user: User | None, *, subject_id: UUID | str | None) -> Actor:
    """The actor for a request: the user acting for themselves, or for `subject_id` under a live grant.

    Raises AccessEndedError when `subject_id` names someone the user may no longer act for.
    """
    base = actor_for(user)
    if user is None or base.user is None or subject_id is None:
        return base
    if base.own_record is not None and str(base.own_record.pk) == str(subject_id):
        return base
    grant = live_grant_candidates(base.user).filter(patient_id=subject_id).first()
    access = grant_access(grant) if grant is not None else None
    if grant is None or access is None:
        patient = Patient.objects.filter(pk=subject_id).only("given_name", "family_name").first()
        raise AccessEndedError(patient.display_name if patient else "")
    return base.acting_for(
        grant.patient,
        basis=grant.legal_basis,
        scopes=access.scopes,
        grant_id=grant.pk,
        hide_sensitive=access.hide_sensitive,
    )
