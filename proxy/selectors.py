"""Reads about proxy access."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.actors import Actor
from accounts.models import Enrollment, Patient, User
from proxy.models import AccessRequest, GrantStatus, ProxyGrant


def grants_on_record(actor: Actor, patient: Patient) -> list[ProxyGrant]:
    """Every grant on a patient's record but the actor's own, newest first (the page groups them)."""
    grants = ProxyGrant.objects.filter(patient=patient).select_related("grantee", "invitation")
    if actor.user is not None:
        grants = grants.exclude(grantee=actor.user)
    return list(grants.order_by("-status_changed_at"))


def grants_held_by(user_id: int) -> QuerySet[ProxyGrant]:
    return ProxyGrant.objects.filter(grantee_id=user_id).select_related("patient")


def requests_made_by(actor: Actor) -> QuerySet[AccessRequest]:
    """The access requests the signed-in person made, newest first."""
    if actor.user is None:
        return AccessRequest.objects.none()
    return (
        AccessRequest.objects.filter(requester=actor.user).select_related("organization").order_by("-created_at", "pk")
    )


def person_and_helpers(patient: Patient, *, scope: str) -> list[User]:
    """Whom a notice for `patient` goes to: their own login (when active) and everyone with `scope` for them today."""
    people: list[User] = []
    user = patient.user
    if user is not None and user.is_active:
        people.append(user)
    for grantee in active_grantees(patient, scope=scope):
        if grantee.is_active and all(grantee.pk != other.pk for other in people):
            people.append(grantee)
    return people


def active_grantees(patient: Patient, *, scope: str) -> list[User]:
    """People who hold `scope` for `patient` today, by the age rules too (for notices: who may be told)."""
    from proxy.access import grant_access

    grants = (
        ProxyGrant.objects.filter(
            patient=patient, status=GrantStatus.ACTIVE, grantee__isnull=False, grantee__is_active=True
        )
        .select_related("grantee", "patient")
        .prefetch_related(Prefetch("patient__enrollments", queryset=Enrollment.objects.select_related("organization")))
    )
    people: list[User] = []
    for grant in grants:
        access = grant_access(grant)
        if access is not None and scope in access.scopes and grant.grantee is not None:
            people.append(grant.grantee)
    return people
