"""Refill reminders: from days' supply and dispense dates, once per supply, to the people who should hear."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.actors import actor_for
from messaging import refill_actions
from messaging.models import Notice, NoticeKind, NotificationChoice, RefillReminderChoice, RefillReminderSent
from messaging.notices import deliver_pending
from messaging.refills import Supply, medicines, runs_out_on
from messaging.reminders import send_refill_reminders
from messaging.tasks import send_refill_reminders as reminder_task
from records.models import FhirResource
from tests.conftest import World
from tests.messaging.refill_data import LISINOPRIL, METFORMIN, clinic_source, dispense, order, store

TODAY = date(2026, 3, 24)


def reminders() -> list[tuple[str, str]]:
    return sorted((n.recipient.email, n.kind) for n in Notice.objects.filter(kind=NoticeKind.REFILL_REMINDER))


@pytest.fixture
def alex_lisinopril(world: World) -> FhirResource:
    """Alex (who signs in) has lisinopril from Riverside, dispensed 23 days ago with 30 days' supply."""
    source = clinic_source(world.patient_record, world.org_here)
    (rx,) = store(source, order("alex-lis", authored=TODAY - timedelta(days=60)))
    store(source, dispense("alex-lis-fill", handed_over=TODAY - timedelta(days=23)))
    return rx


def test_the_run_out_date_comes_from_the_latest_dispense_else_the_order(
    world: World, alex_lisinopril: FhirResource
) -> None:
    (medicine,) = medicines(actor_for(world.user("patient")))
    assert medicine.runs_out_on == TODAY + timedelta(days=7)
    # Without a dispense: the order's date plus its expected supply.
    assert runs_out_on(alex_lisinopril, None) == TODAY - timedelta(days=30)
    # A dispense without days' supply uses the order's.
    assert runs_out_on(alex_lisinopril, Supply(day=TODAY, days=None)) == TODAY + timedelta(days=30)
    # Nothing known about the supply: no date.
    (bare,) = store(clinic_source(world.patient_record, world.org_here), order("alex-bare", METFORMIN, days=None))
    assert runs_out_on(bare, None) is None


def test_one_reminder_seven_days_before_and_only_once(world: World, alex_lisinopril: FhirResource) -> None:
    assert send_refill_reminders(today=TODAY) == 1
    assert reminders() == [("patient@example.test", NoticeKind.REFILL_REMINDER)]
    assert send_refill_reminders(today=TODAY) == 0
    assert send_refill_reminders(today=TODAY + timedelta(days=1)) == 0  # the same supply
    assert RefillReminderSent.objects.get().runs_out_on == TODAY + timedelta(days=7)
    # The email names no medicine.
    deliver_pending()
    (email,) = mail.outbox
    assert "Lisinopril" not in email.body
    assert "Lisinopril" not in email.subject
    assert "/refills/" in email.body


def test_the_beat_task_on_the_day(world: World, alex_lisinopril: FhirResource) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 15, 0, tzinfo=timezone.get_current_timezone())):
        assert reminder_task() == 0  # 11 days left: not yet
    with time_machine.travel(datetime(2026, 3, 24, 15, 0, tzinfo=timezone.get_current_timezone())):
        assert reminder_task() == 1
        assert reminder_task() == 0
    with time_machine.travel(datetime(2026, 4, 2, 15, 0, tzinfo=timezone.get_current_timezone())):
        assert reminder_task() == 0  # it ran out: no reminder about a stale date


def test_no_reminder_when_turned_off(world: World, alex_lisinopril: FhirResource) -> None:
    refill_actions.set_reminders(actor=actor_for(world.user("patient")), key="rxnorm:314076", on=False)
    assert RefillReminderChoice.objects.get().reminders_on is False
    assert send_refill_reminders(today=TODAY) == 0
    assert reminders() == []


def test_no_reminder_while_a_refill_request_waits(world: World, alex_lisinopril: FhirResource) -> None:
    refill_actions.request_refill(
        actor=actor_for(world.user("patient")), medication=alex_lisinopril, pharmacy=world.pharmacy
    )
    assert send_refill_reminders(today=TODAY) == 0


def test_caregivers_who_opted_in_are_reminded_others_not(world: World) -> None:
    rosa = world.people["rosa"]
    source = clinic_source(rosa, world.org_here)
    store(source, order("rosa-lis", LISINOPRIL, authored=TODAY - timedelta(days=60)))
    store(source, dispense("rosa-lis-fill", LISINOPRIL, handed_over=TODAY - timedelta(days=23)))
    # Metformin also runs out, but a refill request for it waits (world.refill).
    store(source, order("rosa-met", METFORMIN, authored=TODAY - timedelta(days=23)))
    assert send_refill_reminders(today=TODAY) == 0  # Rosa has no login; nobody chose reminders yet
    NotificationChoice.objects.create(user=world.user("caregiver_full"), patient=rosa, refill_reminders=True)
    # Opted in without the refills scope: not reminded.
    NotificationChoice.objects.create(user=world.user("caregiver_records"), patient=rosa, refill_reminders=True)
    assert send_refill_reminders(today=TODAY) == 1
    assert reminders() == [("caregiver.full@example.test", NoticeKind.REFILL_REMINDER)]
    assert RefillReminderSent.objects.get().medication_key == "rxnorm:314076"
    assert send_refill_reminders(today=TODAY) == 0


def test_a_parent_is_not_reminded_of_a_medicine_hidden_from_them(world: World) -> None:
    teen = world.people["teen"]
    source = clinic_source(teen, world.org_other)
    store(source, order("teen-private", ("1000126", "Private medicine"), authored=TODAY - timedelta(days=23),
                        security="PSY"))  # fmt: skip
    NotificationChoice.objects.create(user=world.user("parent_of_teen"), patient=teen, refill_reminders=True)
    assert send_refill_reminders(today=TODAY) == 0
