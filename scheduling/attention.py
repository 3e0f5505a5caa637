"""The appointments card of the family view and the dashboard: each person's next visit, and how many follow."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.actors import Scope
from proxy.attention import AttentionItem, attention_provider
from scheduling.models import AppointmentStatus
from scheduling.selectors import forms_sent_for, upcoming_for_patients
from scheduling.times import when_text

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@attention_provider
def next_visits(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """The next visit of everyone the viewer holds the scheduling scope for (one query for the whole family)."""
    allowed = [subject.patient.pk for subject in subjects if Scope.SCHEDULING in subject.scopes]
    if not allowed:
        return {}
    by_patient = defaultdict(list)
    visits_ahead = upcoming_for_patients(allowed, now=timezone.now())
    for visit in visits_ahead:
        by_patient[visit.patient_id].append(visit)
    sent = forms_sent_for([visits[0].pk for visits in by_patient.values()])
    items: dict[UUID, list[AttentionItem]] = {}
    for patient_id, visits in by_patient.items():
        first = visits[0]
        zone = ZoneInfo(first.location.zone_name if first.location else first.organization.time_zone)
        text = _("Next visit: %(when)s at %(clinic)s.") % {
            "when": when_text(first.starts_at, zone),
            "clinic": first.organization.name,
        }
        if first.status == AppointmentStatus.REQUESTED:
            text += " " + _("The clinic has not confirmed it yet.")
        to_fill = len([key for key in first.visit_type.forms if (first.pk, key) not in sent])
        if to_fill:
            text += " " + ngettext(
                "%(count)s form to fill before it.", "%(count)s forms to fill before it.", to_fill
            ) % {"count": to_fill}
        more = len(visits) - 1
        if more:
            text += " " + ngettext("%(count)s more after it.", "%(count)s more after it.", more) % {"count": more}
        url = reverse("scheduling:check_in", args=[first.pk]) if to_fill else reverse("scheduling:appointments")
        items[patient_id] = [AttentionItem(kind="next_visit", text=text, url=url)]
    return items
