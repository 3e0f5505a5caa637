"""Review desks: an organization's admins review for its patients, the platform's for everyone else."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from accounts.access import access_organization_as_admin
from accounts.actors import Actor
from accounts.models import Organization, Patient
from accounts.models.audit import Basis
from proxy.models import AccessRequest, ProxyGrant


@dataclass(frozen=True)
class ReviewDesk:
    """Where a reviewer works: one organization's admin desk, or the platform's."""

    organization: Organization | None

    @property
    def basis(self) -> str:
        return Basis.STAFF if self.organization else Basis.PLATFORM

    def url(self, name: str, *args: object) -> str:
        if self.organization is not None:
            return reverse(f"proxy:org_{name}", args=[self.organization.slug, *args])
        return reverse(f"proxy:platform_{name}", args=list(args))

    def requests(self) -> QuerySet[AccessRequest]:
        found = AccessRequest.objects.select_related("requester", "organization", "patient")
        if self.organization is not None:
            return found.filter(organization=self.organization)
        return found.filter(organization__isnull=True)

    def grants(self) -> QuerySet[ProxyGrant]:
        found = ProxyGrant.objects.select_related("grantee", "patient", "invitation")
        if self.organization is not None:
            return found.filter(patient__enrollments__organization=self.organization)
        return found

    def patient_matches(self, access_request: AccessRequest) -> QuerySet[Patient]:
        patients = Patient.objects.filter(
            birth_date=access_request.patient_birth_date,
            family_name__iexact=access_request.patient_family_name,
        )
        if self.organization is not None:
            patients = patients.filter(enrollments__organization=self.organization)
        return patients.order_by("given_name")


def review_desk(actor: Actor, org_slug: str | None) -> ReviewDesk:
    if org_slug is not None:
        return ReviewDesk(access_organization_as_admin(actor, org_slug))
    if not actor.is_platform_admin:
        raise Http404
    return ReviewDesk(None)


def reviewer_actor(actor: Actor, desk: ReviewDesk) -> Actor:
    """Reviewers act on the basis of their desk, never on their own record."""
    return Actor(user=actor.user, basis=desk.basis, memberships=actor.memberships, own_record=actor.own_record)


def desk_for_request(actor: Actor, access_request: AccessRequest) -> ReviewDesk:
    """The desk that reviews this request, if the actor sits at it (else 404)."""
    organization = access_request.organization
    return review_desk(actor, organization.slug if organization is not None else None)
