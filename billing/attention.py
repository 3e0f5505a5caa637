"""The bills card of the family view and the dashboard: what each person owes, and when it is due."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from uuid import UUID

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.actors import Scope
from billing.money import format_money
from billing.selectors import bills_due_for_patients
from proxy.attention import AttentionItem, attention_provider

if TYPE_CHECKING:
    from accounts.actors import Actor
    from proxy.access import Subject


@attention_provider
def bills_due(actor: Actor, subjects: list[Subject]) -> dict[UUID, list[AttentionItem]]:
    """A card line per bill that owes something, for everyone the viewer holds the billing scope for."""
    allowed = [subject.patient.pk for subject in subjects if Scope.BILLING in subject.scopes]
    if not allowed:
        return {}
    today = timezone.localdate()
    items: dict[UUID, list[AttentionItem]] = defaultdict(list)
    for account in bills_due_for_patients(allowed):
        words = {"amount": format_money(account.balance, account.currency), "clinic": account.organization}
        if account.due_on and account.due_on < today:
            text = _("A bill of %(amount)s from %(clinic)s is past its due date.") % words
        elif account.due_on:
            text = _("A bill of %(amount)s from %(clinic)s is due %(day)s.") % {
                **words,
                "day": date_format(account.due_on, "j F"),
            }
        else:
            text = _("%(amount)s owed to %(clinic)s.") % words
        items[account.patient_id].append(
            AttentionItem(
                kind="bill_due",
                text=text,
                url=reverse("billing:statement", args=[account.account_id]),
                urgent=bool(account.due_on and (account.due_on - today).days <= 7),
            )
        )
    return items
