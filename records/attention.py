"""The records cards of the family view: connections that need the person, and records new since last time."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.actors import Scope
from accounts.selectors import previous_sign_in
from proxy.attention import AttentionItem, attention_provider
from records.models import Connection, ConnectionStatus
from records.preventive_care import preventive_care_for_subjects
from records.selectors import visible_for_subjects

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@attention_provider
def connections_needing_attention(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    patients = [s.patient.pk for s in subjects if Scope.RECORDS in s.scopes]
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    if not patients:
        return items
    waiting = Connection.objects.filter(
        source__patient_id__in=patients, status=ConnectionStatus.NEEDS_REAUTHORIZATION
    ).values_list("source__patient_id", "pk", "health_system__name")
    for patient_id, connection_id, name in waiting:
        items[patient_id].append(
            AttentionItem(
                kind="connection_needs_signin",
                text=_("%(name)s needs you to sign in again so that records keep arriving.") % {"name": name},
                url=reverse("records:connection", args=[connection_id]),
                urgent=True,
            )
        )
    return items


@attention_provider
def new_records(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """Records that arrived since the person's previous sign-in (counted for everyone at once)."""
    allowed = [s for s in subjects if Scope.RECORDS in s.scopes]
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    if not allowed or actor.user is None:
        return items
    since = previous_sign_in(actor.user)
    if since is None:
        return items  # a first visit: everything is new, and the record itself says so
    # Only what each person's viewer may read is counted (no sensitive items where they stay hidden), and the
    # results among them outside their usual range, in one query for everyone.
    rows = (
        visible_for_subjects(actor, allowed)
        .filter(first_seen_at__gt=since)
        .values_list("patient_id")
        .annotate(found=Count("id"), flagged=Count("id", filter=Q(resource_type="Observation", abnormal=True)))
        .order_by()
    )
    for patient_id, found, flagged in rows:
        items[patient_id].append(
            AttentionItem(
                kind="new_records",
                text=ngettext(
                    "%(count)s new record since your last visit.", "%(count)s new records since your last visit.", found
                )
                % {"count": found},
                url=reverse("records:summary"),
            )
        )
        if flagged:
            items[patient_id].append(
                AttentionItem(
                    kind="new_results_out_of_range",
                    text=ngettext(
                        "%(count)s new result outside the usual range.",
                        "%(count)s new results outside the usual range.",
                        flagged,
                    )
                    % {"count": flagged},
                    url=reverse("records:results"),
                    urgent=True,
                )
            )
    return items


@attention_provider
def preventive_care_due(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """Preventive care due for each person, from their record (one query for everyone)."""
    allowed = [s for s in subjects if Scope.RECORDS in s.scopes]
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    if not allowed:
        return items
    for patient_id, care in preventive_care_for_subjects(actor, allowed).items():
        due = [item.title for item in care if item.status == "due"]
        if due:
            items[patient_id].append(
                AttentionItem(
                    kind="preventive_care_due",
                    text=_("Preventive care due: %(list)s.")
                    % {"list": ", ".join(due[:4]) + ("…" if len(due) > 4 else "")},
                    url=reverse("records:summary") + "#care-title",
                )
            )
    return items
