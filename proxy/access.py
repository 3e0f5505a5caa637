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
from django.http import Http404
from django.utils import timezone

from accounts.access import access_subject, parse_int_id, parse_uuid
from accounts.actors import Actor, Scope, actor_for
from accounts.models import Enrollment, Patient, User
from accounts.models.audit import Basis
from accounts.scoping import scoped
from proxy.models import AccessRequest, AccessRequestDocument, GrantStatus, ProxyGrant
from proxy.policy import AgePolicy, EffectiveAccess, care_today, effective_access, policy_for


def age_policy_for(patient: Patient) -> AgePolicy:
    """Uses prefetched enrollments when present (see live_grant_candidates)."""
    return policy_for([AgePolicy(e.organization.adolescent_from_age) for e in patient.enrollments.all()])


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
        allows_sensitive=grant.allows_sensitive,
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
    if not getattr(actor.user, "holds_grants", True):  # read with the user by proxy.backends: no grant, no query
        return subjects
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
    try:
        subject_id = parse_uuid(subject_id)
    except Http404 as error:
        raise AccessEndedError("") from error  # not an id at all: nobody to act for
    if base.own_record is not None and base.own_record.pk == subject_id:
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


# Access helpers: each answers 404 alike for "missing" and "not yours" ----------------------------------


def access_subject_by_id(actor: Actor, patient_id: object) -> Patient:
    """The patient the actor acts for, named by id (an API path: /api/v1/patients/<id>/...); anyone else 404s.

    The API resolves the actor from that same id (proxy.api.base.PortalAPIView.actor); this only confirms it.
    """
    subject = actor.subject
    if subject is None or subject.pk != parse_uuid(patient_id):
        raise Http404
    return subject


def grants_managed_by(actor: Actor) -> QuerySet[ProxyGrant]:
    """Grants on the record the actor acts for, when they may manage who has access; never their own grant."""
    patient = access_subject(actor, Scope.MANAGE_PROXIES)
    grants = ProxyGrant.objects.filter(patient=patient).select_related("grantee", "patient", "invitation")
    if actor.user is not None:
        grants = grants.exclude(grantee=actor.user)
    return grants


def access_grant_by_id(actor: Actor, grant_id: object) -> ProxyGrant:
    """At a desk: a grant the desk sees. Otherwise: a grant on the actor's subject they may manage."""
    pk = parse_uuid(grant_id)
    grants = scoped(actor, ProxyGrant) if actor.desk is not None else grants_managed_by(actor)
    grant = grants.select_related("grantee", "patient").filter(pk=pk).first()
    if grant is None:
        raise Http404
    return grant


def access_request_by_id(actor: Actor, request_id: object) -> AccessRequest:
    """An access request waiting at (or decided by) the actor's desk."""
    found = (
        scoped(actor, AccessRequest)
        .select_related("requester", "organization", "patient")
        .filter(pk=parse_int_id(request_id))
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_request_document_by_id(
    actor: Actor, document_id: object, *, access_request: AccessRequest
) -> AccessRequestDocument:
    """A document of a request the actor's desk reviews."""
    found = (
        scoped(actor, AccessRequestDocument)
        .select_related("request__patient")
        .filter(pk=parse_int_id(document_id), request=access_request)
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_held_grant_by_id(actor: Actor, grant_id: object) -> ProxyGrant:
    """A parent's grant the actor holds (to ask for continued access at 18)."""
    if actor.user is None:
        raise Http404
    grant = (
        ProxyGrant.objects.select_related("patient")
        .filter(pk=parse_uuid(grant_id), grantee=actor.user, legal_basis=Basis.PARENT_OF_MINOR)
        .first()
    )
    if grant is None:
        raise Http404
    return grant
