"""A visit's time in words, on the clock of the place it happens (the same on every page and card)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.formats import date_format, time_format

from scheduling.models import Location, VisitType


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A day of a clock as two instants (23 or 25 hours apart on the days the clock changes)."""
    return (
        datetime.combine(day, time.min).replace(tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=zone),
    )


def zone_of(visit_type: VisitType, location: Location | None) -> ZoneInfo:
    return ZoneInfo(location.zone_name if location is not None else visit_type.organization.time_zone)


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    """A visit's time as the clinic's clock shows it, with the zone's abbreviation ("Thu 3 Dec, 09:20 CST")."""
    local = moment.astimezone(zone)
    return f"{date_format(local, 'D j M')}, {time_format(local, 'H:i')} {local.tzname()}"
