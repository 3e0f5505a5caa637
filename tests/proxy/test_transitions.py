"""The daily Celery task across birthdays and end dates, with fixed clocks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from proxy.tasks import apply_grant_transitions_task
from tests.conftest import World, sign_in
from tests.factories import PatientFactory, UserFactory

ZONE = ZoneInfo("America/Chicago")


def at(day: date, hour: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def run_task() -> dict[str, int]:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return apply_grant_transitions_task.apply().get()


def test_a_parent_is_told_60_days_ahead_once_and_access_ends_on_the_18th_birthday(db: object) -> None:
    parent = UserFactory(email="parent@example.test")
    child = PatientFactory(given_name="Mia", birth_date=date(2010, 7, 15))  # turns 18 on 2028-07-15
    grant = ProxyGrant.objects.create(
        grantee=parent,
        patient=child,
        legal_basis=Basis.PARENT_OF_MINOR,
        scopes=["records"],
        status=GrantStatus.ACTIVE,
        starts_at=at(date(2020, 1, 1)),
    )

    with time_machine.travel(at(date(2028, 5, 15)), tick=False):  # 61 days before
        assert run_task() == {"expired": 0, "ended_at_majority": 0, "notices_sent": 0}
    with time_machine.travel(at(date(2028, 5, 16)), tick=False):  # 60 days before
        assert run_task()["notices_sent"] == 1
        assert run_task()["notices_sent"] == 0  # idempotent: once only
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["parent@example.test"]
    assert "Mia" not in mail.outbox[0].body  # no name, no health information

    with time_machine.travel(at(date(2028, 7, 14), hour=23), tick=False):  # the day before
        assert run_task()["ended_at_majority"] == 0
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    with time_machine.travel(at(date(2028, 7, 15), hour=0), tick=False):
        assert run_task()["ended_at_majority"] == 1
        assert run_task()["ended_at_majority"] == 0
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXPIRED
    assert grant.status_reason == "The patient turned 18"
    actions = list(AuditEvent.objects.filter(object_id=str(grant.pk)).values_list("action", flat=True))
    assert actions == ["proxy.majority_notice_sent", "proxy.ended_at_majority"]
    assert AuditEvent.objects.get(action="proxy.ended_at_majority").basis == Basis.SYSTEM


def test_leap_day_birthdays_end_on_the_first_of_march(db: object) -> None:
    parent = UserFactory()
    child = PatientFactory(birth_date=date(2012, 2, 29))
    ProxyGrant.objects.create(
        grantee=parent,
        patient=child,
        legal_basis=Basis.PARENT_OF_MINOR,
        scopes=["records"],
        status=GrantStatus.ACTIVE,
        starts_at=at(date(2020, 1, 1)),
    )
    with time_machine.travel(at(date(2030, 2, 28), hour=12), tick=False):
        assert run_task()["ended_at_majority"] == 0
    with time_machine.travel(at(date(2030, 3, 1), hour=12), tick=False):
        assert run_task()["ended_at_majority"] == 1


def test_grants_end_on_their_end_date(db: object) -> None:
    grant = ProxyGrant.objects.create(
        grantee=UserFactory(),
        patient=PatientFactory(),
        legal_basis=Basis.POWER_OF_ATTORNEY,
        scopes=["records"],
        status=GrantStatus.ACTIVE,
        starts_at=at(date(2026, 1, 1)),
        expires_at=at(date(2026, 6, 30), hour=23),
    )
    with time_machine.travel(at(date(2026, 6, 30), hour=22), tick=False):
        assert run_task()["expired"] == 0
    with time_machine.travel(at(date(2026, 7, 1), hour=1), tick=False):
        assert run_task()["expired"] == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXPIRED


def test_access_stops_on_the_birthday_even_before_the_task_runs(client: Client, world: World) -> None:
    """The persona whose child turned 18 yesterday: the grant is still 'active' but no longer counts."""
    sign_in(client, world, "parent_of_new_adult")
    assert world.grants["parent_of_new_adult"].status == GrantStatus.ACTIVE
    assert client.get(reverse("home")).status_code == 403
    assert "Nora Grown" not in client.get(reverse("home")).content.decode()


def test_the_family_view_offers_continued_access_before_18(client: Client, world: World) -> None:
    teen = world.people["teen"]
    grant = world.grants["parent_of_teen"]
    soon = teen.birth_date.replace(year=teen.birth_date.year + 18) - timedelta(days=30)
    with time_machine.travel(at(soon, hour=12), tick=False):
        sign_in(client, world, "parent_of_teen")
        html = client.get(reverse("family")).content.decode()
        assert "turns 18" in html
        form = client.get(reverse("proxy:request_access"), {"continues": grant.pk}).content.decode()
        assert "Keep helping Theo after 18" in form
        assert "Court-appointed guardianship" in form
        options = form[form.index('name="legal_basis"') : form.index("</select>", form.index('name="legal_basis"'))]
        assert "Court-appointed guardianship" in options
        assert "Parent of a minor" not in options
