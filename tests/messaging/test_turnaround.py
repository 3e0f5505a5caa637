"""The reply date: business days in the organization's time zone, its closed weekdays and holidays aside."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.models import Holiday, MessagingPolicy
from messaging.turnaround import business_day_after, reply_due
from tests.factories import OrganizationFactory

WEEKEND = frozenset({6, 7})


def test_two_business_days_skip_the_weekend() -> None:
    thursday = date(2026, 11, 26)
    assert business_day_after(thursday, 2, closed_weekdays=WEEKEND, holidays=frozenset()) == date(2026, 11, 30)


def test_a_message_sent_on_saturday_counts_from_monday() -> None:
    saturday = date(2026, 11, 28)
    assert business_day_after(saturday, 1, closed_weekdays=WEEKEND, holidays=frozenset()) == date(2026, 11, 30)


def test_holidays_are_skipped() -> None:
    wednesday = date(2026, 12, 23)
    christmas = frozenset({date(2026, 12, 24), date(2026, 12, 25)})
    assert business_day_after(wednesday, 2, closed_weekdays=WEEKEND, holidays=christmas) == date(2026, 12, 29)


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)),
    days=st.integers(min_value=1, max_value=15),
    holidays=st.sets(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 3, 1)), max_size=20),
)
def test_the_due_day_is_open_and_exactly_n_open_days_later(start: date, days: int, holidays: set[date]) -> None:
    due = business_day_after(start, days, closed_weekdays=WEEKEND, holidays=frozenset(holidays))
    assert due > start
    assert due.isoweekday() not in WEEKEND
    assert due not in holidays
    between = [start.fromordinal(ordinal) for ordinal in range(start.toordinal() + 1, due.toordinal() + 1)]
    assert sum(1 for day in between if day.isoweekday() not in WEEKEND and day not in holidays) == days


@pytest.mark.django_db
def test_reply_due_is_the_end_of_the_day_in_the_organizations_time_zone() -> None:
    clinic = OrganizationFactory(time_zone="America/Chicago")
    MessagingPolicy.objects.create(organization=clinic, turnaround_business_days=1)
    Holiday.objects.create(organization=clinic, day=date(2026, 11, 27), name="Day after Thanksgiving")
    # Thursday 26 November, 11 pm in Chicago is already Friday in UTC: the clinic's calendar counts.
    sent = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    due = reply_due(clinic, sent)
    assert (due.year, due.month, due.day, due.hour, due.minute) == (2026, 11, 30, 23, 59)
    assert str(due.tzinfo) == "America/Chicago"


@pytest.mark.django_db
def test_without_a_policy_the_default_is_two_business_days() -> None:
    clinic = OrganizationFactory(time_zone="UTC")
    due = reply_due(clinic, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # a Monday
    assert due.date() == date(2026, 11, 25)
