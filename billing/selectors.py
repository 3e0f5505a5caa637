"""Reads of the billing pages: balances summed from the ledger in the database, statements grouped by visit.

A balance is always `SUM(amount_cents)` of the account's ledger rows, never a stored number; every read
below computes it in the same query that lists the accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.access import access_subject
from accounts.actors import Actor, Scope
from accounts.models import Enrollment
from accounts.scoping import scoped
from billing.models import (
    BillingAccount,
    EntryKind,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PaymentStatus,
    PlanStatus,
    Statement,
)

OPEN_PLAN_STATUSES = (PlanStatus.STARTING, PlanStatus.ACTIVE, PlanStatus.ON_HOLD)


def with_balance(accounts: QuerySet[BillingAccount]) -> Any:  # Any: the stubs do not follow annotations
    """Each account with `balance` (the sum of its ledger, 0 without rows) and its latest statement's dates."""
    latest = Statement.objects.filter(account=OuterRef("pk")).order_by("-issued_on", "-pk")
    ledger_sum = (
        LedgerEntry.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    return accounts.annotate(
        balance=Coalesce(Subquery(ledger_sum, output_field=IntegerField()), Value(0)),
        due_on=Subquery(latest.values("due_on")[:1]),
        issued_on=Subquery(latest.values("issued_on")[:1]),
    )


def balance_of(account: BillingAccount) -> int:
    return int(LedgerEntry.objects.filter(account=account).aggregate(total=Coalesce(Sum("amount_cents"), 0))["total"])


def accounts_of(actor: Actor) -> list[BillingAccount]:
    """The subject's accounts at every organization, with balances (billing scope; one query)."""
    patient = access_subject(actor, Scope.BILLING)
    return list(
        with_balance(BillingAccount.objects.filter(patient=patient))
        .select_related("organization")
        .order_by("organization__name", "pk")
    )


@dataclass
class VisitLines:
    """What a statement says of one visit: what was charged, what insurance paid, adjustments, what is left."""

    visit_number: str
    service_date: date | None
    entries: list[LedgerEntry] = field(default_factory=list)
    insurer: Any = None  # what the insurer says of this visit (billing.insurance.InsurerStatement), when asked

    def _sum(self, *kinds: str) -> int:
        return sum(entry.amount_cents for entry in self.entries if entry.kind in kinds)

    @property
    def charged(self) -> int:
        return self._sum(EntryKind.CHARGE)

    @property
    def insurance_paid(self) -> int:
        return -self._sum(EntryKind.INSURANCE_PAYMENT)

    @property
    def adjusted(self) -> int:
        return self._sum(EntryKind.ADJUSTMENT)

    @property
    def left_for_you(self) -> int:
        return self._sum(EntryKind.CHARGE, EntryKind.INSURANCE_PAYMENT, EntryKind.ADJUSTMENT)

    @property
    def descriptions(self) -> list[str]:
        return [entry.description for entry in self.entries if entry.kind == EntryKind.CHARGE and entry.description]


@dataclass
class StatementView:
    account: BillingAccount
    balance: int
    visits: list[VisitLines]
    money_moves: list[LedgerEntry]  # payments, refunds and adjustments of no visit, newest first
    statement: Statement | None
    plan: PaymentPlan | None

    @property
    def due_on(self) -> date | None:
        return self.statement.due_on if self.statement else None


def group_by_visit(entries: Iterable[LedgerEntry]) -> tuple[list[VisitLines], list[LedgerEntry]]:
    visits: dict[str, VisitLines] = {}
    others: list[LedgerEntry] = []
    for entry in entries:
        if entry.kind in (EntryKind.PAYMENT, EntryKind.REFUND) or not entry.visit_number:
            others.append(entry)
            continue
        lines = visits.setdefault(entry.visit_number, VisitLines(entry.visit_number, entry.service_date))
        lines.service_date = lines.service_date or entry.service_date
        lines.entries.append(entry)
    ordered = sorted(visits.values(), key=lambda v: (v.service_date or date.min, v.visit_number), reverse=True)
    return ordered, sorted(others, key=lambda e: (e.created_at, e.pk), reverse=True)


def statement_of(account: BillingAccount) -> StatementView:
    """The whole statement of an account: three queries, whatever its length."""
    entries = list(LedgerEntry.objects.filter(account=account).select_related("payment").order_by("created_at", "pk"))
    visits, others = group_by_visit(entries)
    return StatementView(
        account=account,
        balance=sum(entry.amount_cents for entry in entries),
        visits=visits,
        money_moves=others,
        statement=Statement.objects.filter(account=account).order_by("-issued_on", "-pk").first(),
        plan=PaymentPlan.objects.filter(account=account, status__in=OPEN_PLAN_STATUSES).first(),
    )


def payments_of(account: BillingAccount, *, limit: int = 50) -> list[Payment]:
    return list(
        Payment.objects.filter(account=account)
        .exclude(status=PaymentStatus.STARTED, checkout_url="")
        .annotate(refunded=Coalesce(Sum("entries__amount_cents", filter=Q(entries__kind=EntryKind.REFUND)), 0))
        .order_by("-created_at")[:limit]
    )


def refunded_of(payment: Payment) -> int:
    return int(
        LedgerEntry.objects.filter(payment=payment, kind=EntryKind.REFUND).aggregate(
            total=Coalesce(Sum("amount_cents"), 0)
        )["total"]
    )


@dataclass(frozen=True)
class BillDue:
    account_id: int
    patient_id: UUID
    organization: str
    balance: int
    currency: str
    due_on: date | None


def bills_due_for_patients(patient_ids: list[UUID]) -> list[BillDue]:
    """For the family view: every account of these people that owes something (one query)."""
    rows = (
        with_balance(BillingAccount.objects.filter(patient_id__in=patient_ids))
        .filter(balance__gt=0)
        .order_by(F("due_on").asc(nulls_last=True), "pk")
        .values_list("pk", "patient_id", "organization__name", "balance", "currency", "due_on")
    )
    return [BillDue(*row) for row in rows]


# The staff side ---------------------------------------------------------------------------------------------


def _name_or_mrn(query: str, prefix: str) -> Q:
    """Every word in the given or family name ("rosa lopez", "lopez"), or the MRN as typed."""
    names = Q()
    for word in query.split()[:5]:
        names &= Q(**{f"{prefix}family_name__icontains": word}) | Q(**{f"{prefix}given_name__icontains": word})
    return names


def desk_accounts(staff: Actor, *, owing_only: bool = False, query: str = "") -> QuerySet[BillingAccount]:
    """The desk's accounts with balances, largest first; `query` matches the patient's name or MRN."""
    accounts = with_balance(scoped(staff, BillingAccount)).select_related("patient", "organization")
    mrn = Subquery(scoped(staff, Enrollment).filter(patient_id=OuterRef("patient_id")).order_by("pk").values("mrn")[:1])
    accounts = accounts.annotate(mrn=mrn)
    if owing_only:
        accounts = accounts.filter(balance__gt=0)
    if query:
        accounts = accounts.filter(_name_or_mrn(query, "patient__") | Q(mrn=query))
    plan = PaymentPlan.objects.filter(account=OuterRef("pk"), status__in=OPEN_PLAN_STATUSES)
    return accounts.annotate(plan_status=Subquery(plan.values("status")[:1])).order_by("-balance", "pk")


PATIENT_MATCHES = 20


def patients_without_account(staff: Actor, query: str) -> list[Enrollment]:
    """The desk's patients matching a name or MRN who have no account here yet (to open one)."""
    organization = staff.desk.organization if staff.desk else None
    matches = scoped(staff, Enrollment).filter(Q(mrn=query) | _name_or_mrn(query, "patient__"))
    matches = matches.exclude(patient__billing_accounts__organization=organization)
    return list(
        matches.select_related("patient").order_by("patient__family_name", "patient__given_name")[:PATIENT_MATCHES]
    )


def desk_plans(staff: Actor) -> QuerySet[PaymentPlan]:
    return (
        scoped(staff, PaymentPlan)
        .filter(status__in=OPEN_PLAN_STATUSES)
        .select_related("account__patient")
        .order_by("status", "next_charge_on", "pk")
    )


def refunds_of(payment: Payment) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(payment=payment, kind=EntryKind.REFUND).order_by("created_at", "pk"))
