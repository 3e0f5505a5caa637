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
from accounts.models import ApiToken, Enrollment, Organization, Patient, Role
from accounts.scoping import scoped


def parse_uuid(raw: object) -> UUID:
    """A UUID from a URL, a form or a header; anything else answers 404 (never a 500)."""
    if isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except (ValueError, TypeError, AttributeError) as error:
        raise Http404 from error


def parse_int_id(raw: object) -> int:
    """A positive integer id from a URL or a form; anything else answers 404."""
    try:
        value = int(str(raw))
    except (ValueError, TypeError) as error:
        raise Http404 from error
    if value <= 0 or value > 2**63 - 1:
        raise Http404
    return value


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


def access_patient_by_id(actor: Actor, patient_id: object) -> Patient:
    """A patient the actor's desk cares for (see accounts.scoping), or the patient the actor acts for."""
    pk = parse_uuid(patient_id)
    if actor.desk is not None:
        patient = scoped(actor, Patient).filter(pk=pk).first()
    else:
        patient = actor.subject if actor.subject is not None and actor.subject.pk == pk else None
    if patient is None:
        raise Http404
    return patient


def access_api_token_by_id(actor: Actor, token_id: object) -> ApiToken:
    """One of the signed-in person's own API tokens."""
    token = ApiToken.objects.filter(pk=parse_int_id(token_id), user=actor.user).first() if actor.user else None
    if token is None:
        raise Http404
    return token
