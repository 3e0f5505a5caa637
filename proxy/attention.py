"""The family view's extension point: what needs attention, per person.

Each feature registers one provider. A provider gets the actor and every
subject on the page at once (so it can answer with one query, not one per
person) and returns attention items keyed by patient id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from proxy.models import GrantStatus, ProxyGrant
from proxy.policy import ADULT_AGE, MAJORITY_NOTICE_DAYS, birthday_at_age, care_today

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@dataclass(frozen=True)
class AttentionItem:
    kind: str  # a stable name, e.g. "access_ending"
    text: str  # plain words, no health detail beyond what the viewer may see
    url: str = ""
    urgent: bool = False


Provider = Callable[["Actor", "list[Subject]"], dict[UUID, list[AttentionItem]]]
PROVIDERS: list[Provider] = []


def attention_provider(provider: Provider) -> Provider:
    PROVIDERS.append(provider)
    return provider


def attention_for(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    for provider in PROVIDERS:
        for patient_id, found in provider(actor, subjects).items():
            items[patient_id].extend(found)
    return items


ACCESS_ENDING_DAYS = 30


@attention_provider
def access_ending(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """The caregiver's own access to someone ends soon: at its expiry, or at the 18th birthday."""
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    now = timezone.now()
    today = care_today(now)
    for subject in subjects:
        grant = subject.grant
        if grant is None:
            continue
        if grant.legal_basis == "parent_of_minor":
            adulthood = birthday_at_age(subject.patient.birth_date, ADULT_AGE)
            if (adulthood - today).days <= MAJORITY_NOTICE_DAYS:
                items[subject.patient.pk].append(
                    AttentionItem(
                        kind="turning_18",
                        text=_(
                            "%(name)s turns 18 on %(day)s and your parent access ends then. "
                            "You can ask for continued access."
                        )
                        % {"name": subject.patient.given_name, "day": date_format(adulthood, "DATE_FORMAT")},
                        url=reverse("proxy:request_access") + f"?continues={grant.pk}",
                        urgent=True,
                    )
                )
        if grant.expires_at is not None and grant.expires_at - now <= timedelta(days=ACCESS_ENDING_DAYS):
            items[subject.patient.pk].append(
                AttentionItem(
                    kind="access_ending",
                    text=_("Your access ends on %(day)s.")
                    % {"day": date_format(timezone.localdate(grant.expires_at), "DATE_FORMAT")},
                )
            )
    return items


@attention_provider
def invitations_waiting(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """Invitations sent from a record the actor manages that nobody has accepted yet."""
    managed = [s.patient.pk for s in subjects if "manage_proxies" in s.scopes]
    if not managed:
        return {}
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    pending = ProxyGrant.objects.filter(
        patient_id__in=managed, status=GrantStatus.PENDING, grantee__isnull=True
    ).values_list("patient_id", "invitation__email")
    for patient_id, email in pending:
        items[patient_id].append(
            AttentionItem(
                kind="invitation_waiting",
                text=_("Your invitation to %(email)s has not been accepted yet.") % {"email": email},
                url=reverse("proxy:sharing"),
            )
        )
    return items
