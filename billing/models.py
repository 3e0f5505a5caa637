"""What a person owes each organization: accounts, the ledger, statements, payments and payment plans.

Money is integer cents with the account's currency. A balance is never stored: it is the sum of the
account's ledger rows (positive rows raise what is owed: charges and refunds; negative rows lower it:
what the insurer paid, payments, most adjustments). Each kind of row has its sign fixed by a check
constraint, and every row that can be written twice (a payment confirmed by the return page and by the
processor's webhook, a line of an imported file read again) carries a unique key, so the database is the
last word on "only once".
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Patient, User
from billing.money import DEFAULT_CURRENCY


class BillingAccount(models.Model):
    """One patient's bills at one organization; the guarantor is who the clinic sends them to."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="billing_accounts")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="billing_accounts")
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    guarantor_name = models.CharField(_("guarantor"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "patient"], name="billingaccount_one_per_patient"),
        ]

    def __str__(self) -> str:
        return f"billing account {self.pk}"


class EntryKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    INSURANCE_PAYMENT = "insurance", _("Paid by insurance")
    ADJUSTMENT = "adjustment", _("Adjustment")
    PAYMENT = "payment", _("Your payment")
    REFUND = "refund", _("Refund to you")


class LedgerEntry(models.Model):
    """One row of an account's ledger. Rows are never changed or deleted: a mistake is corrected by another row."""

    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount_cents = models.BigIntegerField()  # + raises what is owed, - lowers it
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    # The visit a row belongs to (the clinic's visit or claim number), so that a statement groups its lines.
    visit_number = models.CharField(max_length=40, blank=True)
    service_date = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True)  # adjustments and refunds: why, in the staff's words
    payment = models.ForeignKey("Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    gateway_reference = models.CharField(max_length=100, blank=True)  # a refund's id at the processor
    entered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["account", "created_at"], name="ledger_account_time_idx")]
        constraints = [
            models.CheckConstraint(
                name="ledger_sign_of_kind",
                condition=(
                    Q(kind=EntryKind.CHARGE, amount_cents__gt=0)
                    | Q(kind=EntryKind.REFUND, amount_cents__gt=0)
                    | Q(kind=EntryKind.INSURANCE_PAYMENT, amount_cents__lt=0)
                    | Q(kind=EntryKind.PAYMENT, amount_cents__lt=0)
                    | (Q(kind=EntryKind.ADJUSTMENT) & ~Q(amount_cents=0))
                ),
            ),
            models.CheckConstraint(
                name="ledger_payment_rows_name_their_payment",
                condition=~Q(kind__in=[EntryKind.PAYMENT, EntryKind.REFUND]) | Q(payment__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents}"


class Statement(models.Model):
    """A bill sent on a day, due on another. What it says is read from the ledger, never copied into it."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="statements")
    issued_on = models.DateField(default=timezone.localdate)
    due_on = models.DateField()
    issued_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reminded_on = models.DateField(null=True, blank=True)  # the last "a bill is due" email
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-pk"]

    def __str__(self) -> str:
        return f"statement {self.pk}"


class PaymentStatus(models.TextChoices):
    STARTED = "started", _("Waiting for the card")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Did not go through")
    CANCELLED = "cancelled", _("Cancelled")


class Payment(models.Model):
    """Money a person pays (or a plan charges) through the processor; the card is only ever at the processor."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="payments")
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.STARTED)
    # What the form carried (a double click sends the same key twice) or the plan's instalment it is.
    idempotency_key = models.CharField(max_length=120, unique=True)
    plan = models.ForeignKey("PaymentPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    made_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    gateway = models.CharField(max_length=20)
    checkout_id = models.CharField(max_length=100, blank=True)
    checkout_url = models.URLField(max_length=1000, blank=True)
    gateway_reference = models.CharField(max_length=100, null=True, blank=True, unique=True)  # the charge itself
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    receipt_number = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(name="payment_amount_positive", condition=Q(amount_cents__gt=0))]

    def __str__(self) -> str:
        return f"payment {self.pk}"


class PlanStatus(models.TextChoices):
    STARTING = "starting", _("Waiting for the first payment")
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold: a payment did not go through")
    COMPLETED = "completed", _("Paid off")
    CANCELLED = "cancelled", _("Stopped")


class PaymentPlan(models.Model):
    """Monthly instalments charged to a card saved at the processor (we keep its reference and last digits)."""

    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="plans")
    instalment_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    day_of_month = models.PositiveSmallIntegerField()  # 1 to 28: every month has it
    next_charge_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.STARTING)
    gateway_customer = models.CharField(max_length=100, blank=True)
    gateway_payment_method = models.CharField(max_length=100, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    notice_sent_for = models.DateField(null=True, blank=True)  # the instalment whose notice went out
    failure_message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="plan_instalment_positive", condition=Q(instalment_cents__gt=0)),
            models.CheckConstraint(
                name="plan_day_in_every_month", condition=Q(day_of_month__gte=1, day_of_month__lte=28)
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["starting", "active", "on_hold"]),
                name="plan_one_open_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"payment plan {self.pk}"


class WebhookEvent(models.Model):
    """An event the processor sent, kept by its id: a replayed or resent event is recognised and ignored."""

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="webhookevent_once")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id}"
