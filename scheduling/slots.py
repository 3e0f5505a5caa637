"""Free times worked out from weekly availability: pure, no database (scheduling.selectors gives it the windows
and a way to read busy time, which it reads only as far ahead as it needs).

Availability is kept in local wall-clock time at its location ("Mondays 09:00 to 12:00 in Chicago"), so that
a window keeps its hours across daylight-saving changes. Each slot is one visit long and they follow each
other from the window's start; a slot is offered when it fits in the window, is inside the booking policy's
bounds, falls on no closed day and overlaps nothing busy (an exception or a held appointment).

Daylight-saving days: a wall time that does not exist (the hour skipped in spring) is not offered; a wall time
that happens twice (the hour repeated in autumn) is offered once, the first time. A slot lasts its length in
real time, whatever the clocks do meanwhile.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


# (provider id, starts, ends) of the busy intervals (exceptions, held appointments) that start before `until`
# and not before `since` (when given; without it, those that end after the search's earliest instant).
BusyReader = Callable[[datetime | None, datetime], Iterable[tuple[int, datetime, datetime]]]

# How far the first reads of busy time look ahead, in candidate slots per free slot still wanted: the first read
# is enough when a quarter of the times are free, the second for a schedule much busier; a third reads the rest
# of the range.
READ_AHEAD = (4, 64)

# A candidate slot: (start, provider id, local day of its window (ordinal), window number). Tuples order the
# merge: by time, then provider; a start that two windows of one provider both give is offered once, from the
# earlier local day, then the earlier window (its location and modes are the ones shown).
_Candidate = tuple[int, int, int, int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_BEFORE_ALL = -(2**63)


def _micros(moment: datetime) -> int:
    """Instants as integers (microseconds since 1970): the engine adds and compares them for every candidate."""
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def busy_of(busy: Mapping[int, Iterable[Busy]]) -> BusyReader:
    """A BusyReader over intervals already in hand, by provider."""
    rows = [
        (provider_id, interval.starts_at, interval.ends_at) for provider_id, each in busy.items() for interval in each
    ]

    def read(since: datetime | None, until: datetime) -> list[tuple[int, datetime, datetime]]:
        return [row for row in rows if row[1] < until and (since is None or row[1] >= since)]

    return read


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
    return soonest_slots(
        windows={provider_id: list(windows)},
        length=length,
        earliest=earliest,
        latest=latest,
        read_busy=busy_of({provider_id: busy}),
        closed_days=closed_days,
        mode=mode,
        location_id=location_id,
        limit=limit,
    )


def soonest_slots(
    *,
    windows: Mapping[int, Sequence[Window]],
    length: timedelta,
    earliest: datetime,
    latest: datetime,
    read_busy: BusyReader,
    closed_days: frozenset[date] = frozenset(),
    mode: str | None = None,
    location_id: int | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """The free slots of several providers (their windows by provider id) starting in [earliest, latest), soonest
    first, then by provider; the first `limit` of them when given.

    Each window's possible slots are made lazily in time order and merged, so that a limit ends the work once
    that many are free, whatever the range. Busy time is read a stretch at a time, each just long enough to
    decide the candidates in hand (see READ_AHEAD), so that a search which ends early reads little.
    """
    if length <= timedelta(0) or earliest >= latest or (limit is not None and limit <= 0):
        return []
    length_us = length // _MICROSECOND
    latest_us = _micros(latest)
    chosen = [
        (provider_id, window)
        for provider_id, each in windows.items()
        for window in each
        if (mode is None or mode in window.modes) and (location_id is None or window.location_id == location_id)
    ]
    alike: dict[tuple[str, int, time, time, date | None, date | None], list[tuple[int, int]]] = {}
    for number, (provider_id, window) in enumerate(chosen):
        shape = (window.zone, window.weekday, window.starts, window.ends, window.valid_from, window.valid_until)
        alike.setdefault(shape, []).append((provider_id, number))
    candidates: Iterator[_Candidate] = heapq.merge(
        *(
            _window_starts(chosen[owners[0][1]][1], sorted(owners), length, earliest, latest, closed_days)
            for owners in alike.values()
        )
    )
    calendars = {provider_id: _Calendar() for provider_id in windows}
    pending: deque[_Candidate] = deque()
    read_until: int | None = None  # busy intervals starting before this instant are in the calendars
    reads_ahead = iter(READ_AHEAD if limit is not None else ())
    found: list[Slot] = []
    while limit is None or len(found) < limit:
        if not pending:
            following = next(candidates, None)
            if following is None:
                break
            pending.append(following)
        starts, provider_id, _, number = pending[0]
        ends = starts + length_us
        if read_until is None or ends > read_until:
            ahead = next(reads_ahead, None)
            stretch_end = latest_us + length_us
            if ahead is not None and limit is not None:
                wanted = (limit - len(found)) * ahead
                while len(pending) < wanted and (following := next(candidates, None)) is not None:
                    pending.append(following)
                if len(pending) >= wanted:
                    stretch_end = pending[-1][0] + length_us
            since = None if read_until is None else _moment(read_until)
            for busy_starts, busy_ends, busy_provider in sorted(
                (_micros(s), _micros(e), p) for p, s, e in read_busy(since, _moment(stretch_end))
            ):
                if busy_provider in calendars:
                    calendars[busy_provider].intervals.append((busy_starts, busy_ends))
            read_until = stretch_end
        pending.popleft()
        calendar = calendars[provider_id]
        if starts == calendar.last_start:
            continue
        calendar.last_start = starts
        if calendar.is_busy(starts, ends):
            continue
        window = chosen[number][1]
        moment = _moment(starts)
        found.append(Slot(provider_id, moment, moment + length, window.location_id, window.modes))
    return found


class _Calendar:
    """One provider's busy intervals read so far (sorted by start), walked forward as its candidates advance."""

    __slots__ = ("intervals", "last_start", "passed", "reach")

    def __init__(self) -> None:
        self.intervals: list[tuple[int, int]] = []
        self.passed = 0  # intervals[:passed] start before the last candidate asked about ended
        self.reach = _BEFORE_ALL  # the latest end among them
        self.last_start: int | None = None

    def is_busy(self, starts: int, ends: int) -> bool:
        """Whether [starts, ends) overlaps an interval; candidates come in time order, so each is passed once."""
        intervals, passed, reach = self.intervals, self.passed, self.reach
        while passed < len(intervals) and intervals[passed][0] < ends:
            if intervals[passed][1] > reach:
                reach = intervals[passed][1]
            passed += 1
        self.passed, self.reach = passed, reach
        return reach > starts


def _window_starts(
    window: Window,
    owners: Sequence[tuple[int, int]],
    length: timedelta,
    earliest: datetime,
    latest: datetime,
    closed_days: frozenset[date],
) -> Iterator[_Candidate]:
    """The candidates of a window's hours in [earliest, latest), in time order, for each (provider id, window
    number) of `owners` (sorted) with those same hours: its weekday each week, closed days left out (local days of
    its clock; a day either side of the range covers any offset). Providers often share hours, so the merge
    walks each set of hours once."""
    zone = ZoneInfo(window.zone)
    first = earliest.astimezone(zone).date() - _DAY
    last = latest.astimezone(zone).date() + _DAY
    if window.valid_from is not None:
        first = max(first, window.valid_from)
    if window.valid_until is not None:
        last = min(last, window.valid_until)
    earliest_us, latest_us = _micros(earliest), _micros(latest)
    day = first + timedelta(days=(window.weekday - first.isoweekday()) % 7)
    while day <= last:
        if day not in closed_days:
            ordinal = day.toordinal()
            for starts in _starts_of_day(day, window.starts, window.ends, zone, length):
                if starts >= latest_us:
                    return
                if starts >= earliest_us:
                    for provider_id, number in owners:
                        yield (starts, provider_id, ordinal, number)
        day += _WEEK


def _starts_of_day(day: date, starts: time, ends: time, zone: ZoneInfo, length: timedelta) -> Sequence[int]:
    """Slot starts of a window on one day, in time order: one visit after another from its start, each that
    exists on the clock and ends by the window's end. On a day the clocks do not change within the window, they
    are evenly spaced; otherwise each wall time is read on its own."""
    start_wall = datetime.combine(day, starts)
    end_wall = datetime.combine(day, ends)
    count = (end_wall - start_wall) // length
    if count <= 0:
        return ()
    first = local_moment(day, starts, zone)
    window_end = local_moment(day, ends, zone)
    if first is not None and window_end is not None and window_end - first == end_wall - start_wall:
        first_us, length_us = _micros(first), length // _MICROSECOND
        return range(first_us, first_us + count * length_us, length_us)
    if window_end is None:  # the window ends inside the skipped hour: as early as that wall time could mean
        window_end = _before_gap(day, ends, zone)
    found: list[int] = []
    for step in range(count):
        moment = local_moment(day, (start_wall + step * length).time(), zone)
        if moment is not None and moment + length <= window_end:
            found.append(_micros(moment))
    return sorted(found)


def _before_gap(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """A skipped wall time read with the offset after the jump: the earlier of the two instants it could mean
    (02:30 on the day Chicago skips 02:00 to 03:00 is read as 01:30, standard time)."""
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
