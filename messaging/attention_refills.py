"""The refills card of the family view: requests waiting for an answer, and answers not yet seen, per person.

One query for everyone on the page. Only people the viewer acts for with the refills scope; a caregiver
never hears of a private request (an adolescent's own).
"""

from __future__ import annotations

from collections import defaultdict
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import ngettext

from accounts.actors import Scope
from messaging.models import RefillRequest, RefillStatus, ThreadRead
from proxy.attention import AttentionItem, attention_provider

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@attention_provider
def refills_needing_attention(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    allowed = [s for s in subjects if Scope.REFILLS in s.scopes]
    if not allowed or actor.user is None:
        return items
    rules = [
        Q(patient_id=s.patient.pk) if s.is_self else Q(patient_id=s.patient.pk, thread__private=False) for s in allowed
    ]
    seen = ThreadRead.objects.filter(thread=OuterRef("thread_id"), user=actor.user, read_at__gte=OuterRef("decided_at"))
    rows = (
        RefillRequest.objects.filter(reduce(or_, rules))
        .alias(seen=Exists(seen))
        .filter(Q(status=RefillStatus.SENT) | Q(decided_at__isnull=False, seen=False))
        .values_list("patient_id")
        .annotate(
            waiting=Count("pk", filter=Q(status=RefillStatus.SENT)),
            answered=Count("pk", filter=~Q(status=RefillStatus.SENT)),
        )
        .order_by()
    )
    url = reverse("messaging:refills")
    for patient_id, waiting, answered in rows:
        if answered:
            items[patient_id].append(
                AttentionItem(
                    kind="refills_answered",
                    text=ngettext(
                        "A refill request was answered.", "%(count)s refill requests were answered.", answered
                    )
                    % {"count": answered},
                    url=url,
                    urgent=True,
                )
            )
        if waiting:
            items[patient_id].append(
                AttentionItem(
                    kind="refills_waiting",
                    text=ngettext(
                        "A refill request is waiting for the care team.",
                        "%(count)s refill requests are waiting for the care team.",
                        waiting,
                    )
                    % {"count": waiting},
                    url=url,
                )
            )
    return items
