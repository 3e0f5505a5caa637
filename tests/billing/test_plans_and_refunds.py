"""Payment plans: the first instalment on the processor's page saves the card; the daily run sends a notice
before each instalment and charges it once; a declined instalment puts the plan on hold with an email and a
way back. Refunds by the billing desk go back to the card, at most what was paid, with a reason."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import requests
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing.models import EntryKind, LedgerEntry, Payment, PaymentPlan, PaymentStatus, PlanStatus
from billing.payments import next_charge_date
from billing.selectors import balance_of
from billing.tasks import charge_instalment_task, run_daily_billing
from payment_sandbox.server import RunningSandbox
from tests.conftest import World, sign_in

GOOD, DECLINE_LATER = "4242 4242 4242 4242", "4000 0000 0000 0341"
EXPIRY = f"12/{(date.today().year + 3) % 100:02d}"


def _card(url: str, card: str) -> None:
    answer = requests.post(url, data={"card_number": card, "expiry": EXPIRY, "cvc": "123"}, allow_redirects=False)
    assert answer.status_code == 303, answer.text


def _at_three_pm(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(15)))


def _start_plan(world: World, maria: Client, card: str, capture: Any) -> PaymentPlan:
    world.rosa_plan.status = PlanStatus.CANCELLED  # the world's plan on hold is stopped first
    world.rosa_plan.save()
    response = maria.post(
        reverse("billing:plan_start", args=[world.rosa_account.pk]),
        {"instalment": "20.00", "day_of_month": "5", "key": "plan-key"},
    )
    assert response.status_code == 303, response.content.decode()
    payment = Payment.objects.get(idempotency_key="pay-plan-key")
    _card(payment.checkout_url, card)
    with capture(execute=True):
        maria.get(reverse("billing:payment", args=[payment.pk]))
    return PaymentPlan.objects.get(pk=payment.plan_id)


def test_next_charge_dates_stay_in_their_month() -> None:
    assert next_charge_date(5, date(2026, 1, 4)) == date(2026, 1, 5)
    assert next_charge_date(5, date(2026, 1, 5)) == date(2026, 2, 5)
    assert next_charge_date(28, date(2026, 12, 31)) == date(2027, 1, 28)


def test_a_plan_saves_the_card_then_charges_each_month_once(
    world: World, maria: Client, processor: RunningSandbox, django_capture_on_commit_callbacks: Any
) -> None:
    plan = _start_plan(world, maria, GOOD, django_capture_on_commit_callbacks)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.card_last4 == "4242"
    assert plan.gateway_payment_method.startswith("pm_")
    assert balance_of(world.rosa_account) == 4000
    due = plan.next_charge_on
    assert due is not None
    assert due.day == 5
    # A few days before: one notice, with no amount, clinic or health detail.
    mail.outbox.clear()
    with (
        time_machine.travel(
            timezone.make_aware(timezone.datetime.combine(due - timedelta(days=2), timezone.datetime.min.time()))
            + timedelta(hours=15)
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_daily_billing()
        run_daily_billing()
    notices = [m for m in mail.outbox if "instalment" in m.subject]
    assert len(notices) == 1
    assert "Riverside" not in notices[0].body
    assert "$" not in notices[0].body
    # On the day: charged once, however often the run and the task come.
    on_the_day = _at_three_pm(due)
    with time_machine.travel(on_the_day):
        charge_instalment_task(plan.pk)
        charge_instalment_task(plan.pk)
    plan.refresh_from_db()
    assert balance_of(world.rosa_account) == 2000
    assert plan.next_charge_on == next_charge_date(5, due)
    assert Payment.objects.filter(plan=plan, status=PaymentStatus.SUCCEEDED).count() == 2
    # The last one pays the rest and ends the plan.
    with time_machine.travel(on_the_day + timedelta(days=40)):
        charge_instalment_task(plan.pk)
    plan.refresh_from_db()
    assert balance_of(world.rosa_account) == 0
    assert plan.status == PlanStatus.COMPLETED


def test_a_declined_instalment_holds_the_plan_and_another_card_restarts_it(
    world: World, maria: Client, processor: RunningSandbox, django_capture_on_commit_callbacks: Any
) -> None:
    plan = _start_plan(world, maria, DECLINE_LATER, django_capture_on_commit_callbacks)
    assert plan.status == PlanStatus.ACTIVE
    mail.outbox.clear()
    on_the_day = _at_three_pm(plan.next_charge_on) - timedelta(hours=15)
    with time_machine.travel(on_the_day + timedelta(hours=15)), django_capture_on_commit_callbacks(execute=True):
        charge_instalment_task(plan.pk)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ON_HOLD
    assert balance_of(world.rosa_account) == 4000
    assert any("did not go through" in m.subject for m in mail.outbox)
    page = maria.get(reverse("billing:statement", args=[world.rosa_account.pk])).content.decode()
    assert "Pay the missed instalment" in page
    # The way back: pay the missed instalment with another card, which the plan then keeps.
    response = maria.post(reverse("billing:plan_resume", args=[world.rosa_account.pk, plan.pk]), {"key": "again"})
    assert response.status_code == 303
    payment = Payment.objects.get(idempotency_key="pay-again")
    _card(payment.checkout_url, GOOD)
    maria.get(reverse("billing:payment", args=[payment.pk]))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert balance_of(world.rosa_account) == 2000
    assert plan.card_last4 == "4242"


def test_plan_amounts_out_of_bounds_are_refused(world: World, maria: Client, processor: RunningSandbox) -> None:
    world.rosa_plan.status = PlanStatus.CANCELLED
    world.rosa_plan.save()
    url = reverse("billing:plan_start", args=[world.rosa_account.pk])
    for instalment, day in (("1.00", "5"), ("61.00", "5"), ("20.00", "29"), ("20.00", "0")):
        assert maria.post(url, {"instalment": instalment, "day_of_month": day, "key": "k"}).status_code == 400
    assert not PaymentPlan.objects.exclude(pk=world.rosa_plan.pk).exists()


def _desk(world: World) -> Client:
    return sign_in(Client(), world, "org_admin")


def _paid(world: World, maria: Client, cents: str) -> Payment:
    maria.post(reverse("billing:pay", args=[world.rosa_account.pk]), {"amount": cents, "key": "refundable"})
    payment = Payment.objects.get(idempotency_key="pay-refundable")
    _card(payment.checkout_url, GOOD)
    maria.get(reverse("billing:payment", args=[payment.pk]))
    payment.refresh_from_db()
    return payment


def test_the_desk_refunds_part_of_a_payment_to_its_card_once(
    world: World, maria: Client, processor: RunningSandbox
) -> None:
    payment = _paid(world, maria, "40.00")
    assert balance_of(world.rosa_account) == 2000
    desk = _desk(world)
    url = reverse("billing:staff_refund", args=["riverside", world.rosa_account.pk, payment.pk])
    body = {"amount": "15.00", "reason": "Billed twice for the lab", "key": "refund-1"}
    assert desk.post(url, body).status_code == 302
    assert desk.post(url, body).status_code == 302  # the same form again: refunded once
    refunds = LedgerEntry.objects.filter(payment=payment, kind=EntryKind.REFUND)
    assert [r.amount_cents for r in refunds] == [1500]
    assert balance_of(world.rosa_account) == 3500
    assert AuditEvent.objects.filter(action="billing.refund_issued", subject_patient=world.people["rosa"]).exists()
    # More than is left, no reason, zero: refused, nothing changes.
    for bad in (
        {"amount": "25.01", "reason": "x", "key": "r2"},
        {"amount": "5", "reason": "", "key": "r3"},
        {"amount": "0", "reason": "x", "key": "r4"},
    ):
        assert desk.post(url, bad).status_code == 400
    assert refunds.count() == 1
    # The patient sees the refund and its reason.
    page = maria.get(reverse("billing:statement", args=[world.rosa_account.pk])).content.decode()
    assert "Billed twice for the lab" in page


def test_another_clinics_desk_cannot_touch_the_account(world: World, maria: Client, processor: RunningSandbox) -> None:
    payment = _paid(world, maria, "10.00")
    other = sign_in(Client(), world, "admin_other")
    url = reverse("billing:staff_refund", args=["lakeside", world.rosa_account.pk, payment.pk])
    assert other.post(url, {"amount": "1.00", "reason": "x", "key": "k"}).status_code == 404
    post = reverse("billing:staff_post_entry", args=["lakeside", world.rosa_account.pk])
    assert other.post(post, {"kind": "lower", "amount": "1.00", "reason": "x", "key": "k"}).status_code == 404
    assert balance_of(world.rosa_account) == 5000


def test_a_bill_due_soon_is_reminded_once_with_no_details(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    statement = world.rosa_account.statements.get()
    statement.due_on = timezone.localdate() + timedelta(days=3)
    statement.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run_daily_billing()
        run_daily_billing()
    reminders = [m for m in mail.outbox if m.subject.endswith("A bill is due soon")]
    # Rosa has no login of her own: of her helpers, only the one with the billing scope is told, once.
    assert [m.to[0] for m in reminders] == [world.user("caregiver_full").email]
    for message in reminders:
        assert "Riverside" not in message.body
        assert "$" not in message.body
        assert "60" not in message.body
    statement.refresh_from_db()
    assert statement.reminded_on == timezone.localdate()
