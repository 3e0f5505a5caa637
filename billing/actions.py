"""The billing desk's writes: accounts, charges, insurance payments, adjustments, statements, refunds.

Each takes the staff actor and objects already checked for the desk, re-checks the role inside its
transaction, locks the account row (so that two writes never both pass a balance check), writes ledger rows
that are never changed afterwards, and records the audit row in the same transaction. Bad input raises
ValidationError with a message for the page; a wrong person raises NotAllowedError; either way nothing
changes.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment, Patient
from accounts.notifications import send_notice
from billing.access import BILLING_ROLES
from billing.gateways import gateway
from billing.models import BillingAccount, EntryKind, LedgerEntry, Payment, PaymentStatus, Statement
from billing.selectors import balance_of, refunded_of
from proxy.actions import NotAllowedError
from proxy.selectors import person_and_helpers

DESK_KINDS = (EntryKind.CHARGE, EntryKind.INSURANCE_PAYMENT, EntryKind.ADJUSTMENT)
LATEST_DUE_DAYS = 366  # a due date further than a year ahead is a typo


def _check_desk(staff: Actor, organization_id: int) -> None:
    if staff.desk is None or staff.desk.organization is None or staff.desk.organization.pk != organization_id:
        raise NotAllowedError(_("This is not your organization's account."))
    if not staff.roles_at(organization_id) & BILLING_ROLES:
        raise NotAllowedError(_("Only the billing staff and admins change accounts."))


def _locked(account: BillingAccount) -> BillingAccount:
    return BillingAccount.objects.select_for_update().get(pk=account.pk)


def open_account(*, staff: Actor, enrollment: Enrollment, request: HttpRequest | None = None) -> BillingAccount:
    """The patient's account at the desk's organization, made on first use (one per patient: the database says)."""
    _check_desk(staff, enrollment.organization_id)
    account, _created = BillingAccount.objects.get_or_create(
        organization_id=enrollment.organization_id,
        patient_id=enrollment.patient_id,
        defaults={"guarantor_name": ""},
    )
    return account


def post_entry(
    *,
    staff: Actor,
    account: BillingAccount,
    kind: str,
    amount_cents: int,
    lowers: bool = True,
    visit_number: str = "",
    service_date: date | None = None,
    description: str = "",
    reason: str = "",
    idempotency_key: str = "",
    request: HttpRequest | None = None,
) -> LedgerEntry:
    """A charge (raises the balance), what insurance paid (lowers it) or an adjustment (either way, with a reason).

    `amount_cents` is the size of the change, always above zero. Nothing may lower a balance below zero: a
    credit comes only from a payment. The same `idempotency_key` twice (a double click) posts once.
    """
    if kind not in DESK_KINDS:
        raise ValidationError(_("Choose a charge, an insurance payment or an adjustment."), code="kind")
    if amount_cents <= 0:
        raise ValidationError(_("The amount must be more than zero."), code="amount_not_positive")
    if kind == EntryKind.ADJUSTMENT and not reason.strip():
        raise ValidationError(_("Say why the account is adjusted: the patient sees it."), code="reason_required")
    if kind == EntryKind.CHARGE and not (visit_number.strip() and service_date and description.strip()):
        raise ValidationError(
            _("A charge needs the visit number, the date of service and what it is for."), code="charge_details"
        )
    signed = (
        amount_cents if kind == EntryKind.CHARGE or (kind == EntryKind.ADJUSTMENT and not lowers) else -amount_cents
    )
    with transaction.atomic():
        _check_desk(staff, account.organization_id)
        account = _locked(account)
        earlier = (
            LedgerEntry.objects.filter(idempotency_key=f"desk-{idempotency_key}").first() if idempotency_key else None
        )
        if earlier is not None:  # the same form sent again (a double click): posted once
            if earlier.account_id != account.pk:
                raise ValidationError(_("The form has expired. Open the page again."), code="key_of_another_account")
            return earlier
        if signed < 0 and balance_of(account) + signed < 0:
            raise ValidationError(
                _("That is more than the balance: an adjustment or insurance payment cannot make a credit."),
                code="amount_above_balance",
            )
        entry = LedgerEntry.objects.create(
            account=account,
            kind=kind,
            amount_cents=signed,
            currency=account.currency,
            visit_number=visit_number.strip()[:40],
            service_date=service_date,
            description=description.strip()[:200],
            reason=reason.strip()[:300],
            entered_by=staff.user,
            idempotency_key=f"desk-{idempotency_key}" if idempotency_key else None,
        )
        record_audit_event(
            action=AuditAction.BILLING_ENTRY_POSTED,
            actor=staff,
            subject=account.patient,
            request=request,
            object_type="ledger_entry",
            object_id=entry.pk,
            detail={"kind": kind},
        )
    return entry


# Emails with no health detail and no clinic's name (a clinic's name can say what it treats): (subject, body).
NOTICES = {
    "statement": (
        gettext_lazy("You have a new bill"),
        gettext_lazy("You have a new bill in the Family Health Portal.\n\nSign in to see it and pay: %(link)s"),
    ),
    "due_soon": (
        gettext_lazy("A bill is due soon"),
        gettext_lazy("A bill in the Family Health Portal is due soon.\n\nSign in to see it and pay: %(link)s"),
    ),
    "paid": (
        gettext_lazy("Your payment was received"),
        gettext_lazy("A payment in the Family Health Portal went through.\n\nSign in to see the receipt: %(link)s"),
    ),
    "plan_notice": (
        gettext_lazy("A payment plan instalment is coming up"),
        gettext_lazy(
            "A payment plan in the Family Health Portal will charge its card in a few days.\n\n"
            "Sign in to see the amount and the date, or to change the plan: %(link)s"
        ),
    ),
    "plan_failed": (
        gettext_lazy("A payment did not go through"),
        gettext_lazy(
            "A payment plan's instalment in the Family Health Portal did not go through, and the plan is on hold."
            "\n\nSign in to pay with another card: %(link)s"
        ),
    ),
}


def tell_about_bills(patient: Patient, notice: str) -> None:
    link = settings.PORTAL_URL + reverse("billing:bills")
    subject, body = NOTICES[notice]
    for person in person_and_helpers(patient, scope=Scope.BILLING):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            send_notice(to=person.email, subject=str(subject), body=str(body) % {"link": link})


def issue_statement(
    *, staff: Actor, account: BillingAccount, due_on: date, request: HttpRequest | None = None
) -> Statement:
    """Send the account's bill, due on a day; the patient and their billing helpers get an email."""
    today = timezone.localdate()
    if due_on < today:
        raise ValidationError(_("The due date cannot be in the past."), code="due_in_past")
    if (due_on - today).days > LATEST_DUE_DAYS:
        raise ValidationError(_("The due date must be within a year."), code="due_too_late")
    with transaction.atomic():
        _check_desk(staff, account.organization_id)
        account = _locked(account)
        if balance_of(account) <= 0:
            raise ValidationError(_("Nothing is owed on this account: there is no bill to send."), code="nothing_owed")
        statement = Statement.objects.create(account=account, issued_on=today, due_on=due_on, issued_by=staff.user)
        record_audit_event(
            action=AuditAction.STATEMENT_ISSUED,
            actor=staff,
            subject=account.patient,
            request=request,
            object_type="statement",
            object_id=statement.pk,
        )
        tell_about_bills(account.patient, "statement")
    return statement


def refund_payment(
    *,
    staff: Actor,
    payment: Payment,
    amount_cents: int,
    reason: str,
    idempotency_key: str,
    request: HttpRequest | None = None,
) -> LedgerEntry:
    """Give back part or all of a card payment, through the processor, with the reason the patient reads."""
    if amount_cents <= 0:
        raise ValidationError(_("The amount must be more than zero."), code="amount_not_positive")
    if not reason.strip():
        raise ValidationError(_("Say why the payment is refunded: the patient sees it."), code="reason_required")
    key = f"refund-{idempotency_key}"
    with transaction.atomic():
        _check_desk(staff, payment.account.organization_id)
        payment = Payment.objects.select_for_update(of=("self",)).select_related("account__patient").get(pk=payment.pk)
        earlier = LedgerEntry.objects.filter(idempotency_key=key).first()
        if earlier is not None:
            return earlier
        if payment.status != PaymentStatus.SUCCEEDED or not payment.gateway_reference:
            raise ValidationError(_("Only a payment that went through can be refunded."), code="not_paid")
        left = payment.amount_cents - refunded_of(payment)
        if amount_cents > left:
            raise ValidationError(
                _("That is more than what is left to refund on this payment."), code="amount_above_refundable"
            )
        reference = gateway().refund(
            reference=payment.gateway_reference, amount_cents=amount_cents, idempotency_key=idempotency_key
        )
        try:
            entry = LedgerEntry.objects.create(
                account=payment.account,
                kind=EntryKind.REFUND,
                amount_cents=amount_cents,
                currency=payment.currency,
                payment=payment,
                reason=reason.strip()[:300],
                description=_("Refund of your payment of %(day)s") % {"day": payment.created_at.date().isoformat()},
                gateway_reference=reference,
                entered_by=staff.user,
                idempotency_key=key,
            )
        except IntegrityError:  # pragma: no cover - the row lock above makes this a race we cannot reach
            raise ValidationError(_("This refund was already made."), code="refund_twice") from None
        record_audit_event(
            action=AuditAction.REFUND_ISSUED,
            actor=staff,
            subject=payment.account.patient,
            request=request,
            object_type="payment",
            object_id=payment.pk,
        )
    return entry
