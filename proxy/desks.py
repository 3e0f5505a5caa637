"""Review desks: an organization's admins review for its patients, the platform's for everyone else.

A ReviewDesk wraps the staff actor the page's declaration put at a desk
(accounts.audience.staff_page); every read goes through accounts.scoping.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from accounts.actors import Actor
from accounts.models import Organization, Patient
from accounts.scoping import scoped
from proxy.models import AccessRequest, ProxyGrant


@dataclass(frozen=True)
class ReviewDesk:
    """Where a reviewer works: one organization's admin desk, or the platform's."""

    staff: Actor

    def __post_init__(self) -> None:
        if self.staff.desk is None:
            raise ValueError("A review desk needs an actor at a desk (see accounts.audience.staff_page).")

    @property
    def organization(self) -> Organization | None:
        assert self.staff.desk is not None
        return self.staff.desk.organization

    def url(self, name: str, *args: object) -> str:
        if self.organization is not None:
            return reverse(f"proxy:org_{name}", args=[self.organization.slug, *args])
        return reverse(f"proxy:platform_{name}", args=list(args))

    def requests(self) -> QuerySet[AccessRequest]:
        return scoped(self.staff, AccessRequest).select_related("requester", "organization", "patient")

    def grants(self) -> QuerySet[ProxyGrant]:
        return scoped(self.staff, ProxyGrant).select_related("grantee", "patient", "invitation")

    def patient_matches(self, access_request: AccessRequest) -> QuerySet[Patient]:
        """Records this desk cares for with the requested person's family name and date of birth."""
        return (
            scoped(self.staff, Patient)
            .filter(
                birth_date=access_request.patient_birth_date,
                family_name__iexact=access_request.patient_family_name,
            )
            .order_by("given_name")
        )

    def is_own_request(self, access_request: AccessRequest) -> bool:
        """Nobody decides a request they made themselves."""
        return self.staff.user is not None and access_request.requester_id == self.staff.user.pk
