"""The access helpers: the one place that decides what an actor may reach.

Anything outside the actor's reach answers 404, exactly like something that
does not exist, so that ids cannot be probed.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from accounts.actors import Actor
from accounts.models import Enrollment, Organization, Patient, Role


def access_subject(actor: Actor, scope: str) -> Patient:
    """The patient the actor is acting for, if the actor holds `scope` for them."""
    if actor.subject is None or scope not in actor.scopes:
        raise Http404
    return actor.subject


def access_organization_as_staff(actor: Actor, slug: str, *, roles: frozenset[str] | None = None) -> Organization:
    """An organization the actor works at (in one of `roles`, when given)."""
    for membership in actor.memberships:
        organization = membership.organization
        if organization.slug != slug:
            continue
        if roles is None or actor.roles_at(organization.pk) & roles:
            return organization
    raise Http404


def access_organization_as_admin(actor: Actor, slug: str) -> Organization:
    return access_organization_as_staff(actor, slug, roles=frozenset({Role.ORG_ADMIN}))


def enrollments_visible_to_staff(actor: Actor, organization: Organization) -> QuerySet[Enrollment]:
    """The organization's enrollments, only for its own staff."""
    if organization.pk not in actor.staff_organization_ids:
        return Enrollment.objects.none()
    return Enrollment.objects.filter(organization=organization)


def access_patient_as_staff(actor: Actor, organization: Organization, patient_id: UUID | str) -> Patient:
    """A patient enrolled at an organization the actor works at."""
    try:
        enrollment = (
            enrollments_visible_to_staff(actor, organization).select_related("patient").get(patient_id=patient_id)
        )
    except (Enrollment.DoesNotExist, ValidationError, ValueError, TypeError) as error:
        raise Http404 from error
    return enrollment.patient
