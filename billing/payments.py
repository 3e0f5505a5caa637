"""Paying: a card payment on the processor's page, its settlement, the processor's webhooks, payment plans.

The person's form carries an idempotency key made when the form was shown: a double click or a resent form
finds the payment already started and goes on with it. A payment is settled when the processor says it is
paid, whichever comes first of the person's return to the portal and the processor's webhook; the ledger row
of a payment has a unique key, so it is written once however often it is settled. A webhook's event id is
kept too: a replayed event is recognised and ignored.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import parse_uuid
from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models.audit import Basis
from billing.actions import tell_about_bills
from billing.gateways import CheckoutState, GatewayError, GatewayEvent, gateway
from billing.models import (
    BillingAccount,
    EntryKind,
    LedgerEntry,
    Payment,
    PaymentPlan,
    PaymentStatus,
    PlanStatus,
    Statement,
    WebhookEvent,
)
from billing.selectors import balance_of, with_balance
from proxy.actions import NotAllowedError

logger = logging.getLogger(__name__)

MIN_INSTALMENT_CENTS = 1000  # $10: below this a plan costs more to run than it helps
MAX_PLAN_MONTHS = 24


@dataclass(frozen=True)
class ReturnUrls:
    success: str  # the payment's own page in the portal: it asks the processor how the checkout went
    cancel: str


def _check_payer(actor: Actor, account: BillingAccount) -> None:
    if actor.subject is None or actor.subject.pk != account.patient_id or Scope.BILLING not in actor.scopes:
        raise NotAllowedError(_("You may not pay this bill."))


def start_payment(
    *,
    actor: Actor,
    account: BillingAccount,
    amount_cents: int,
    idempotency_key: str,
    urls: Callable[[Payment], ReturnUrls],
    plan: PaymentPlan | None = None,
    request: HttpRequest | None = None,
) -> Payment:
    """A payment of `amount_cents` on the processor's page; the same key again returns the same payment."""
    _check_payer(actor, account)
    if not idempotency_key or len(idempotency_key) > 100:
        raise ValidationError(_("The form has expired. Open the page again."), code="no_key")
    key = f"pay-{idempotency_key}"
    earlier = Payment.objects.filter(idempotency_key=key).first()
    if earlier is None:
        if amount_cents <= 0:
            raise ValidationError(_("The amount must be more than zero."), code="amount_not_positive")
        try:
            with transaction.atomic():
                locked = BillingAccount.objects.select_for_update().get(pk=account.pk)
                if amount_cents > balance_of(locked):
                    raise ValidationError(
                        _("That is more than you owe. The most you can pay now is the balance."),
                        code="amount_above_balance",
                    )
                earlier = Payment.objects.create(
                    account=account,
                    amount_cents=amount_cents,
                    currency=account.currency,
                    idempotency_key=key,
                    plan=plan,
                    made_by=actor.user,
                    gateway=gateway().name,
                )
                record_audit_event(
                    action=AuditAction.PAYMENT_STARTED,
                    actor=actor,
                    request=request,
                    object_type="payment",
                    object_id=earlier.pk,
                )
        except IntegrityError:  # the same form sent twice at the same moment: the other request made it
            earlier = Payment.objects.get(idempotency_key=key)
    if earlier.account_id != account.pk:
        raise ValidationError(_("The form has expired. Open the page again."), code="key_of_another_account")
    if earlier.checkout_url or earlier.status != PaymentStatus.STARTED:
        return earlier
    try:
        # The processor's own idempotency key is this payment's id: asking twice gives the same page.
        checkout = gateway().start_checkout(
            payment_id=str(earlier.pk),
            amount_cents=earlier.amount_cents,
            currency=earlier.currency,
            description=_("Payment to %(organization)s") % {"organization": account.organization.name},
            success_url=urls(earlier).success,
            cancel_url=urls(earlier).cancel,
            save_card=plan is not None,
        )
    except GatewayError:
        Payment.objects.filter(pk=earlier.pk, status=PaymentStatus.STARTED, checkout_url="").update(
            status=PaymentStatus.FAILED, failure_message=_("The payment service did not answer. Nothing was charged.")
        )
        raise
    Payment.objects.filter(pk=earlier.pk).update(checkout_id=checkout.id, checkout_url=checkout.url)
    earlier.checkout_id, earlier.checkout_url = checkout.id, checkout.url
    return earlier


def _receipt_number(payment: Payment) -> str:
    return f"R-{timezone.localdate():%Y%m%d}-{str(payment.pk)[:8].upper()}"


def _record_success(
    payment: Payment, *, reference: str, brand: str = "", last4: str = "", customer: str = "", method: str = ""
) -> Payment:
    """Payment made: the ledger row (once: its key is unique), the plan moved on, the payer told."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("account__patient", "plan")
            .get(pk=payment.pk)
        )
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment
        payment.status = PaymentStatus.SUCCEEDED
        payment.gateway_reference = reference or None
        payment.card_brand, payment.card_last4 = brand or payment.card_brand, last4 or payment.card_last4
        payment.completed_at = timezone.now()
        payment.receipt_number = _receipt_number(payment)
        payment.failure_message = ""
        payment.save()
        LedgerEntry.objects.create(
            account=payment.account,
            kind=EntryKind.PAYMENT,
            amount_cents=-payment.amount_cents,
            currency=payment.currency,
            payment=payment,
            description=_("Card payment"),
            idempotency_key=f"payment-{payment.pk}",
        )
        if payment.plan is not None:
            _plan_paid(payment.plan, customer=customer, method=method, brand=brand, last4=last4)
        record_audit_event(
            action=AuditAction.PAYMENT_MADE,
            subject=payment.account.patient,
            basis=Basis.SYSTEM,  # the processor's answer; who started it is in PAYMENT_STARTED
            object_type="payment",
            object_id=payment.pk,
        )
        tell_about_bills(payment.account.patient, "paid")
    return payment


def _record_failure(payment: Payment, message: str) -> Payment:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("account__patient", "plan")
            .get(pk=payment.pk)
        )
        if payment.status != PaymentStatus.STARTED:
            return payment
        payment.status, payment.failure_message = PaymentStatus.FAILED, message[:300]
        payment.save(update_fields=["status", "failure_message"])
        plan = payment.plan
        if plan is not None and plan.status == PlanStatus.ACTIVE:
            plan.status, plan.failure_message = PlanStatus.ON_HOLD, message[:300]
            plan.save(update_fields=["status", "failure_message"])
            tell_about_bills(payment.account.patient, "plan_failed")
        record_audit_event(
            action=AuditAction.PAYMENT_FAILED,
            subject=payment.account.patient,
            basis=Basis.SYSTEM,  # the processor's answer; who started it is in PAYMENT_STARTED
            object_type="payment",
            object_id=payment.pk,
        )
    return payment


def settle_payment(payment: Payment, state: CheckoutState | None = None) -> Payment:
    """Ask the processor how a checkout went and record it (safe to call any number of times)."""
    if payment.status != PaymentStatus.STARTED or not payment.checkout_id:
        return payment
    state = state or gateway().checkout_state(payment.checkout_id)
    if state.paid:
        return _record_success(
            payment,
            reference=state.reference,
            brand=state.card_brand,
            last4=state.card_last4,
            customer=state.customer,
            method=state.payment_method,
        )
    if state.expired:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.STARTED).update(status=PaymentStatus.CANCELLED)
        payment.refresh_from_db()
    return payment


def handle_event(event: GatewayEvent) -> bool:
    """A verified webhook event; False when it was seen before (a replay or a resend) and nothing was done.

    The event's row and what it settles commit together: if the processor cannot be asked (GatewayError),
    neither is kept and the processor's next delivery of the same event is handled afresh.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(gateway=gateway().name, event_id=event.id, event_type=event.type)
        except IntegrityError:
            return False
        payment = None
        if event.checkout_id:
            payment = Payment.objects.filter(checkout_id=event.checkout_id).first()
        if payment is None and event.payment_id:
            try:
                payment = Payment.objects.filter(pk=parse_uuid(event.payment_id)).first()
            except Http404:  # not one of our ids: an event about something else
                payment = None
        if payment is None or payment.status != PaymentStatus.STARTED:
            return True
        if event.type == "checkout.session.completed":
            settle_payment(payment)
        elif event.type == "payment_intent.succeeded" and not payment.checkout_id:
            _record_success(payment, reference=event.reference)
        elif event.type == "payment_intent.payment_failed" and not payment.checkout_id:
            _record_failure(payment, _("The card was declined."))
    return True


# Payment plans -------------------------------------------------------------------------------------------------


def next_charge_date(day_of_month: int, after: date) -> date:
    """The first `day_of_month` strictly after `after` (plans take days 1 to 28, which every month has)."""
    year, month = (after.year, after.month) if after.day < day_of_month else _next_month(after.year, after.month)
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def smallest_instalment(balance_cents: int) -> int:
    return min(balance_cents, max(MIN_INSTALMENT_CENTS, math.ceil(balance_cents / MAX_PLAN_MONTHS)))


def start_plan(
    *,
    actor: Actor,
    account: BillingAccount,
    instalment_cents: int,
    day_of_month: int,
    idempotency_key: str,
    urls: Callable[[Payment], ReturnUrls],
    request: HttpRequest | None = None,
) -> Payment:
    """A monthly plan: the first instalment is paid now on the processor's page, which saves the card."""
    _check_payer(actor, account)
    earlier = Payment.objects.filter(idempotency_key=f"pay-{idempotency_key}").select_related("plan").first()
    if earlier is not None and earlier.plan is not None:
        return start_payment(
            actor=actor,
            account=account,
            amount_cents=earlier.amount_cents,
            idempotency_key=idempotency_key,
            urls=urls,
            plan=earlier.plan,
            request=request,
        )
    if not 1 <= day_of_month <= 28:
        raise ValidationError(_("Choose a day from 1 to 28."), code="day")
    with transaction.atomic():
        locked = BillingAccount.objects.select_for_update().get(pk=account.pk)
        balance = balance_of(locked)
        if balance <= 0:
            raise ValidationError(_("Nothing is owed: there is nothing to spread over months."), code="nothing_owed")
        if instalment_cents > balance:
            raise ValidationError(_("The monthly amount is more than you owe."), code="amount_above_balance")
        if instalment_cents < smallest_instalment(balance):
            raise ValidationError(
                _("The monthly amount must be at least %(amount)s (a plan lasts at most %(months)s months).")
                % {"amount": f"{smallest_instalment(balance) / 100:.2f}", "months": MAX_PLAN_MONTHS},
                code="amount_too_small",
            )
        if PaymentPlan.objects.filter(account=locked, status__in=(PlanStatus.ACTIVE, PlanStatus.ON_HOLD)).exists():
            raise ValidationError(_("This bill already has a payment plan. Stop it first."), code="plan_exists")
        PaymentPlan.objects.filter(account=locked, status=PlanStatus.STARTING).update(status=PlanStatus.CANCELLED)
        plan = PaymentPlan.objects.create(
            account=locked,
            instalment_cents=instalment_cents,
            currency=locked.currency,
            day_of_month=day_of_month,
            created_by=actor.user,
        )
        record_audit_event(
            action=AuditAction.PAYMENT_PLAN_CHANGED,
            actor=actor,
            request=request,
            object_type="payment_plan",
            object_id=plan.pk,
            detail={"change": "started"},
        )
    return start_payment(
        actor=actor,
        account=account,
        amount_cents=instalment_cents,
        idempotency_key=idempotency_key,
        urls=urls,
        plan=plan,
        request=request,
    )


def resume_plan(
    *,
    actor: Actor,
    plan: PaymentPlan,
    idempotency_key: str,
    urls: Callable[[Payment], ReturnUrls],
    request: HttpRequest | None = None,
) -> Payment:
    """A plan on hold: pay the missed instalment with a card typed again (saved for the next ones)."""
    if plan.status != PlanStatus.ON_HOLD:
        raise ValidationError(_("This plan is not on hold."), code="not_on_hold")
    account = plan.account
    amount = min(plan.instalment_cents, balance_of(account))
    return start_payment(
        actor=actor,
        account=account,
        amount_cents=amount,
        idempotency_key=idempotency_key,
        urls=urls,
        plan=plan,
        request=request,
    )


def stop_plan(*, actor: Actor, plan: PaymentPlan, request: HttpRequest | None = None) -> None:
    _check_payer(actor, plan.account)
    with transaction.atomic():
        updated = PaymentPlan.objects.filter(
            pk=plan.pk, status__in=(PlanStatus.STARTING, PlanStatus.ACTIVE, PlanStatus.ON_HOLD)
        ).update(status=PlanStatus.CANCELLED)
        if not updated:
            raise ValidationError(_("This plan has already ended."), code="plan_ended")
        record_audit_event(
            action=AuditAction.PAYMENT_PLAN_CHANGED,
            actor=actor,
            request=request,
            object_type="payment_plan",
            object_id=plan.pk,
            detail={"change": "stopped"},
        )


def _plan_paid(plan: PaymentPlan, *, customer: str, method: str, brand: str, last4: str) -> None:
    """An instalment went through (inside _record_success's transaction): the plan moves to its next month."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == PlanStatus.CANCELLED:
        return
    if customer and method:  # a card typed on the processor's page: the one the next instalments use
        plan.gateway_customer, plan.gateway_payment_method = customer, method
        plan.card_brand, plan.card_last4 = brand, last4
    today = timezone.localdate()
    plan.next_charge_on = next_charge_date(plan.day_of_month, max(today, plan.next_charge_on or today))
    plan.failure_message = ""
    plan.status = PlanStatus.COMPLETED if balance_of(plan.account) <= 0 else PlanStatus.ACTIVE
    plan.save()


def charge_instalment(plan_id: int, *, today: date | None = None) -> Payment | None:
    """Charge a plan's instalment that is due (a beat task calls this daily; twice charges once)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        plan = (
            PaymentPlan.objects.select_for_update(of=("self",))
            .select_related("account__organization")
            .filter(pk=plan_id)
            .first()
        )
        if plan is None or plan.status != PlanStatus.ACTIVE or not plan.next_charge_on or plan.next_charge_on > today:
            return None
        balance = balance_of(plan.account)
        if balance <= 0:
            plan.status = PlanStatus.COMPLETED
            plan.save(update_fields=["status"])
            return None
        payment, _created = Payment.objects.get_or_create(
            idempotency_key=f"plan-{plan.pk}-{plan.next_charge_on.isoformat()}",
            defaults={
                "account": plan.account,
                "amount_cents": min(plan.instalment_cents, balance),
                "currency": plan.currency,
                "plan": plan,
                "made_by": plan.created_by,
                "gateway": gateway().name,
                "card_brand": plan.card_brand,
                "card_last4": plan.card_last4,
            },
        )
    if payment.status != PaymentStatus.STARTED:
        return payment
    try:
        result = gateway().charge_saved_card(
            payment_id=str(payment.pk),
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            customer=plan.gateway_customer,
            payment_method=plan.gateway_payment_method,
            description=_("Payment plan instalment to %(organization)s")
            % {"organization": plan.account.organization.name},
        )
    except GatewayError:
        logger.warning("A plan's instalment could not reach the processor; it is tried again on the next run.")
        return payment
    if result.succeeded:
        return _record_success(payment, reference=result.reference)
    return _record_failure(payment, result.message)


def plans_due(today: date) -> list[int]:
    return list(
        PaymentPlan.objects.filter(status=PlanStatus.ACTIVE, next_charge_on__lte=today).values_list("pk", flat=True)
    )


def send_plan_notices(today: date) -> int:
    """Tell the payer a few days before each instalment (once per instalment)."""
    notice_day = today + timedelta(days=settings.PLAN_NOTICE_DAYS)
    sent = 0
    plans = PaymentPlan.objects.filter(
        status=PlanStatus.ACTIVE, next_charge_on__gt=today, next_charge_on__lte=notice_day
    ).select_related("account__patient__user")
    for plan in plans:
        if plan.notice_sent_for == plan.next_charge_on:
            continue
        with transaction.atomic():
            if (
                PaymentPlan.objects.filter(pk=plan.pk)
                .exclude(notice_sent_for=plan.next_charge_on)
                .update(notice_sent_for=plan.next_charge_on)
            ):
                tell_about_bills(plan.account.patient, "plan_notice")
                sent += 1
    return sent


def send_bill_reminders(today: date) -> int:
    """Remind of bills due within BILL_REMINDER_DAYS that still owe something (once per statement)."""
    horizon = today + timedelta(days=settings.BILL_REMINDER_DAYS)
    sent = 0
    statements = Statement.objects.filter(due_on__gte=today, due_on__lte=horizon, reminded_on__isnull=True)
    owing = set(
        with_balance(BillingAccount.objects.filter(pk__in=statements.values("account_id")))
        .filter(balance__gt=0)
        .values_list("pk", flat=True)
    )
    for statement in statements.select_related("account__patient__user"):
        if statement.account_id not in owing:
            continue
        with transaction.atomic():
            if Statement.objects.filter(pk=statement.pk, reminded_on__isnull=True).update(reminded_on=today):
                tell_about_bills(statement.account.patient, "due_soon")
                sent += 1
    return sent
