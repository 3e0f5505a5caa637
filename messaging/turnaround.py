"""When a reply is due: the organization's turnaround in business days, its closed weekdays and holidays aside.

A message sent on day D (in the organization's time zone) is due by the end of the Nth business day after D.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from accounts.models import Organization
from messaging.models import Holiday, MessagingPolicy

DEFAULT_TURNAROUND_DAYS = 2
DEFAULT_CLOSED_WEEKDAYS = (6, 7)  # Saturday, Sunday
HORIZON_DAYS = 366  # holidays read ahead of the day a message is sent


def business_day_after(start: date, days: int, *, closed_weekdays: frozenset[int], holidays: frozenset[date]) -> date:
    """The `days`-th business day after `start` (start itself never counts)."""
    day = start
    counted = 0
    # A year of closures at most: a policy closed every day cannot loop forever.
    for _step in range(days * 7 + len(holidays) + 8):
        day += timedelta(days=1)
        if day.isoweekday() in closed_weekdays or day in holidays:
            continue
        counted += 1
        if counted >= days:
            return day
    return day


def _policy(organization: Organization) -> tuple[int, frozenset[int]]:
    policy = MessagingPolicy.objects.filter(organization=organization).first()
    if policy is None:
        return DEFAULT_TURNAROUND_DAYS, frozenset(DEFAULT_CLOSED_WEEKDAYS)
    closed = frozenset(int(day) for day in policy.closed_weekdays or () if str(day).isdigit() and 1 <= int(day) <= 7)
    if len(closed) == 7:
        closed = frozenset(DEFAULT_CLOSED_WEEKDAYS)
    return max(1, policy.turnaround_business_days), closed


def reply_due(organization: Organization, sent_at: datetime) -> datetime:
    """The end of the day (in the organization's time zone) a reply to a message sent at `sent_at` is due."""
    zone = ZoneInfo(organization.time_zone or "UTC")
    local_day = sent_at.astimezone(zone).date()
    days, closed = _policy(organization)
    holidays = frozenset(
        Holiday.objects.filter(
            organization=organization, day__gt=local_day, day__lte=local_day + timedelta(days=HORIZON_DAYS)
        ).values_list("day", flat=True)
    )
    due_day = business_day_after(local_day, days, closed_weekdays=closed, holidays=holidays)
    return datetime.combine(due_day, time(23, 59, 59), tzinfo=zone)
