"""The staff side's read rules (accounts.scoping): an organization's desk sees its own bills only.

The platform's desk sees none: clinics keep their own books.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from accounts.scoping import Desk, staff_scope_rule
from billing.models import BillingAccount, LedgerEntry, Payment, PaymentPlan, Statement


def _of_the_desk(path: str) -> object:
    def rule(queryset: QuerySet[Model], desk: Desk) -> QuerySet[Model]:
        return queryset.none() if desk.organization is None else queryset.filter(**{path: desk.organization})

    return rule


for _model, _path in (
    (BillingAccount, "organization"),
    (LedgerEntry, "account__organization"),
    (Statement, "account__organization"),
    (Payment, "account__organization"),
    (PaymentPlan, "account__organization"),
):
    staff_scope_rule(_model)(_of_the_desk(_path))  # type: ignore[arg-type]
