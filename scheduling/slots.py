"""Free times worked out from weekly availability: pure, no database (scheduling.selectors feeds it).

Availability is kept in local wall-clock time at its location ("Mondays 09:00 to 12:00 in Chicago"), so that
a window keeps its hours across daylight-saving changes. Each slot is one visit long and they follow each
other from the window's start; a slot is offered when it fits in the window, is inside the booking policy's
bounds, falls on no closed day and overlaps nothing busy (an exception or a held appointment).

Daylight-saving days: a wall time that does not exist (the hour skipped in spring) is not offered; a wall time
that happens twice (the hour repeated in autumn) is offered once, the first time. A slot lasts its length in
real time, whatever the clocks do meanwhile.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """One weekly availability row, as the engine needs it."""

    weekday: int  # ISO: 1 Monday … 7 Sunday
    starts: time
    ends: time
    zone: str  # the IANA time zone of its wall clock
    location_id: int | None
    modes: frozenset[str]
    valid_from: date | None = None
    valid_until: date | None = None  # inclusive

    def applies_on(self, day: date) -> bool:
        return (
            day.isoweekday() == self.weekday
            and (self.valid_from is None or day >= self.valid_from)
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True, order=True)
class Busy:
    starts_at: datetime  # aware
    ends_at: datetime


@dataclass(frozen=True)
class Slot:
    provider_id: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    location_id: int | None
    modes: frozenset[str]


def local_moment(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """The instant a wall clock in `zone` shows `wall` on `day` (the first, when it shows it twice); None when it
    never does (the hour skipped when clocks go forward)."""
    naive = datetime.combine(day, wall)
    moment = naive.replace(tzinfo=zone, fold=0)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return moment.astimezone(UTC)


def _overlaps_any(starts: datetime, ends: datetime, busy: Sequence[Busy], busy_starts: Sequence[datetime]) -> bool:
    # Busy intervals are sorted by start; only those starting before this slot ends can overlap it, and of
    # those, the ones that end after it starts do.
    for index in range(bisect.bisect_left(busy_starts, ends) - 1, -1, -1):
        interval = busy[index]
        if interval.ends_at > starts:
            return True
        if interval.starts_at + _LONGEST_BUSY < starts:
            break
    return False


# Busy intervals longer than this (a long vacation) are cut into pieces by provider_slots, so that the backward
# walk in _overlaps_any can stop once it is this far before the slot.
_LONGEST_BUSY = timedelta(days=1)


def _pieces(busy: Iterable[Busy]) -> list[Busy]:
    pieces: list[Busy] = []
    for interval in busy:
        starts = interval.starts_at
        while interval.ends_at - starts > _LONGEST_BUSY:
            pieces.append(Busy(starts, starts + _LONGEST_BUSY))
            starts += _LONGEST_BUSY
        if starts < interval.ends_at:
            pieces.append(Busy(starts, interval.ends_at))
    return sorted(pieces)


def provider_slots(
    *,
    provider_id: int,
    windows: Iterable[Window],
    length: timedelta,
    earliest: datetime,
    latest: datetime,
    busy: Iterable[Busy] = (),
    closed_days: frozenset[date] = frozenset(),
    mode: str | None = None,
    location_id: int | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """The provider's free slots of `length` starting in [earliest, latest), soonest first.

    `earliest` and `latest` already hold the booking policy (now plus the minimum notice; now plus the horizon)
    and the range asked for. `mode` and `location_id`, when given, keep the windows that offer them. Closed
    days are days of the window's own wall clock. `limit` stops after that many slots.
    """
    if length <= timedelta(0) or earliest >= latest:
        return []
    chosen = [
        window
        for window in windows
        if (mode is None or mode in window.modes) and (location_id is None or window.location_id == location_id)
    ]
    blocked = _pieces(busy)
    blocked_starts = [interval.starts_at for interval in blocked]
    found: dict[datetime, Slot] = {}
    zones = {window.zone: ZoneInfo(window.zone) for window in chosen}
    # Day by day (local days of each window's clock; a day either side covers any offset), so that a limit
    # stops the walk early: one more day after reaching it, as windows of other zones may start earlier.
    first_day = min((earliest.astimezone(zone).date() for zone in zones.values()), default=earliest.date())
    last_day = max((latest.astimezone(zone).date() for zone in zones.values()), default=latest.date())
    day = first_day - timedelta(days=1)
    enough_on: date | None = None
    while day <= last_day + timedelta(days=1) and (enough_on is None or day <= enough_on + timedelta(days=1)):
        for window in chosen:
            if window.applies_on(day) and day not in closed_days:
                zone = zones[window.zone]
                _slots_of_day(window, day, zone, length, earliest, latest, blocked, blocked_starts, provider_id, found)
        if limit is not None and enough_on is None and len(found) >= limit:
            enough_on = day
        day += timedelta(days=1)
    slots = sorted(found.values(), key=lambda slot: slot.starts_at)
    return slots[:limit] if limit is not None else slots


def _slots_of_day(
    window: Window,
    day: date,
    zone: ZoneInfo,
    length: timedelta,
    earliest: datetime,
    latest: datetime,
    blocked: Sequence[Busy],
    blocked_starts: Sequence[datetime],
    provider_id: int,
    found: dict[datetime, Slot],
) -> None:
    window_end = local_moment(day, window.ends, zone)
    if window_end is None:  # the window ends inside the skipped hour: as early as that wall time could mean
        window_end = _before_gap(day, window.ends, zone)
    wall = datetime.combine(day, window.starts)
    end_wall = datetime.combine(day, window.ends)
    while wall + length <= end_wall:
        starts = local_moment(day, wall.time(), zone) if wall.date() == day else None
        wall += length
        if starts is None:
            continue
        ends = starts + length
        if ends > window_end or starts < earliest or starts >= latest or starts in found:
            continue
        if _overlaps_any(starts, ends, blocked, blocked_starts):
            continue
        found[starts] = Slot(provider_id, starts, ends, window.location_id, window.modes)


def _before_gap(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """A skipped wall time read with the offset after the jump: the earlier of the two instants it could mean
    (02:30 on the day Chicago skips 02:00 to 03:00 is read as 01:30, standard time)."""
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
