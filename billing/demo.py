"""The demo's bills: Rosa's from Riverside, due in ten days, with Medicare's part already paid (Maria pays it);
Alex's from Riverside, to pay on his phone.

Rosa's bill is for her latest follow-up visit at Riverside, five days ago (moved off a weekend, the rule the
demo health system uses for its visit days), so when Maria connects Riverside its Explanation of Benefit
for that visit is shown beside the bill.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, Patient, User
from billing.models import BillingAccount, EntryKind, LedgerEntry, Statement


def _clinic_day(day: date) -> date:
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


def _bill(
    account: BillingAccount,
    *,
    visit: str,
    day: date,
    lines: list[tuple[str, int, str]],
    due_in_days: int,
    by: User | None,
) -> None:
    if LedgerEntry.objects.filter(account=account, visit_number=visit).exists():
        return
    for number, (kind, cents, words) in enumerate(lines):
        LedgerEntry.objects.create(
            account=account,
            kind=kind,
            amount_cents=cents,
            visit_number=visit,
            service_date=day,
            description=words if kind == EntryKind.CHARGE else "",
            reason=words if kind == EntryKind.ADJUSTMENT else "",
            entered_by=by,
            idempotency_key=f"demo-{account.pk}-{visit}-{number}",
        )
    Statement.objects.create(
        account=account,
        issued_on=timezone.localdate(),
        due_on=timezone.localdate() + timedelta(days=due_in_days),
        issued_by=by,
    )


def seed_billing_demo(*, patients: dict[str, Patient], users: dict[str, User]) -> None:
    riverside = Organization.objects.get(slug="riverside")
    clerk = users.get("billing@riverside.demo.test")
    today = timezone.localdate()
    with transaction.atomic():
        rosa, _ = BillingAccount.objects.get_or_create(
            organization=riverside, patient=patients["rosa"], defaults={"guarantor_name": "Maria Lopez"}
        )
        _bill(
            rosa,
            visit="RFC-V-20418",
            day=_clinic_day(today - timedelta(days=5)),
            lines=[
                (EntryKind.CHARGE, 21000, "Follow-up office visit, 30 minutes"),
                (EntryKind.CHARGE, 4500, "HbA1c blood test"),
                (EntryKind.INSURANCE_PAYMENT, -16360, "Medicare"),
                (EntryKind.ADJUSTMENT, -4090, "Medicare's allowed amount: the clinic writes off the rest"),
            ],
            due_in_days=10,
            by=clerk,
        )
        alex, _ = BillingAccount.objects.get_or_create(organization=riverside, patient=patients["alex"])
        _bill(
            alex,
            visit="RFC-V-20377",
            day=_clinic_day(today - timedelta(days=21)),
            lines=[
                (EntryKind.CHARGE, 16500, "Diabetes follow-up visit"),
                (EntryKind.INSURANCE_PAYMENT, -12500, "Blue River Health Plan"),
            ],
            due_in_days=24,
            by=clerk,
        )
