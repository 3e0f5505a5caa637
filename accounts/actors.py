"""The actor: who is asking, for whom, on what basis, with which scopes.

Every request resolves one (request.actor for pages, `actor_for(user)` for the
API). Feature code asks the actor and the access helpers in accounts.access;
it never filters by user id by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from uuid import UUID

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization, Patient, Role, User
from accounts.models.audit import Basis
from accounts.scoping import Desk

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


class Scope:
    RECORDS = "records"
    MESSAGING = "messaging"
    SCHEDULING = "scheduling"
    REFILLS = "refills"
    BILLING = "billing"
    MANAGE_PROXIES = "manage_proxies"

    ALL = frozenset({RECORDS, MESSAGING, SCHEDULING, REFILLS, BILLING, MANAGE_PROXIES})
    LABELS = {
        RECORDS: _("Health records"),
        MESSAGING: _("Messages"),
        SCHEDULING: _("Appointments"),
        REFILLS: _("Prescription refills"),
        BILLING: _("Bills and payments"),
        MANAGE_PROXIES: _("Manage who has access"),
    }


@dataclass(frozen=True)
class Actor:
    user: User | None
    subject: Patient | None = None
    basis: str = Basis.ANONYMOUS
    scopes: frozenset[str] = frozenset()
    memberships: tuple[Membership, ...] = field(default_factory=tuple)
    own_record: Patient | None = None  # the user's own chart, whoever they act for now
    grant_id: UUID | None = None  # the proxy grant behind this subject, when not acting for oneself
    hide_sensitive: bool = False  # sensitive and confidential items stay hidden (see proxy.policy)
    desk: Desk | None = None  # set only by a staff page's declaration: where this staff member works now

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_clinic_staff(self) -> bool:
        return bool(self.memberships)

    @property
    def is_platform_admin(self) -> bool:
        return bool(self.user and self.user.is_platform_admin)

    @property
    def must_use_mfa(self) -> bool:
        """Staff and admins may not open staff or admin pages without a second factor."""
        return bool(self.user and (self.memberships or self.user.is_platform_admin or self.user.is_staff))

    @property
    def staff_organization_ids(self) -> frozenset[int]:
        return frozenset(m.organization_id for m in self.memberships)

    def roles_at(self, organization_id: int) -> frozenset[str]:
        return frozenset(m.role for m in self.memberships if m.organization_id == organization_id)

    def is_org_admin_of(self, organization_id: int) -> bool:
        return Role.ORG_ADMIN in self.roles_at(organization_id)

    def may(self, scope: str) -> bool:
        return self.subject is not None and scope in self.scopes

    @property
    def acts_for_self(self) -> bool:
        return self.subject is not None and self.basis == Basis.SELF

    @property
    def acts_as_proxy(self) -> bool:
        return self.grant_id is not None

    def acting_for(
        self, subject: Patient, *, basis: str, scopes: frozenset[str], grant_id: UUID, hide_sensitive: bool
    ) -> Actor:
        """The same person, now acting for someone else under a grant."""
        return replace(
            self, subject=subject, basis=basis, scopes=scopes, grant_id=grant_id, hide_sensitive=hide_sensitive
        )

    @property
    def organization(self) -> Organization:
        """The organization whose desk this staff member works at (only on an organization's staff page)."""
        if self.desk is None or self.desk.organization is None:
            raise LookupError("Not at an organization's desk.")
        return self.desk.organization

    def at_desk(self, desk: Desk) -> Actor:
        """The same person working at a staff desk: on the desk's basis, never on anyone's record."""
        return Actor(
            user=self.user,
            basis=desk.basis,
            memberships=self.memberships,
            own_record=self.own_record,
            desk=desk,
        )


ANONYMOUS_ACTOR = Actor(user=None)


def actor_for(user: User | AnonymousUser | None) -> Actor:
    """Resolve the actor for a signed-in user acting on their own record."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS_ACTOR
    assert isinstance(user, User)
    memberships: tuple[Membership, ...] = ()
    # accounts.backends reads whether the user has any (most people have none: no query for them); else asked here.
    if getattr(user, "has_memberships", True):
        memberships = tuple(
            Membership.objects.filter(user=user).select_related("organization").order_by("organization__name", "role")
        )
    try:
        subject: Patient | None = user.own_patient  # read with the user by accounts.backends
    except Patient.DoesNotExist:
        subject = None
    return Actor(
        user=user,
        subject=subject,
        basis=Basis.SELF if subject else Basis.ANONYMOUS,
        scopes=Scope.ALL if subject else frozenset(),
        memberships=memberships,
        own_record=subject,
    )
