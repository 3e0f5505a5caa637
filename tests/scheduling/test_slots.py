"""The slot engine: windows in local wall time, the policy's bounds, closed days, busy time, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from scheduling.slots import Busy, Slot, Window, local_moment, provider_slots

CHICAGO = "America/Chicago"
TWENTY = timedelta(minutes=20)


def window(
    weekday: int, starts: str, ends: str, *, zone: str = CHICAGO, modes: str = "in_person", **more: Any
) -> Window:
    return Window(
        weekday=weekday,
        starts=time.fromisoformat(starts),
        ends=time.fromisoformat(ends),
        zone=zone,
        location_id=more.pop("location_id", 1),
        modes=frozenset(modes.split(",")),
        **more,
    )


def chicago(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(CHICAGO))


def walls(slots: list[Slot], zone: str = CHICAGO) -> list[str]:
    return [slot.starts_at.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M") for slot in slots]


def test_a_window_gives_back_to_back_slots_that_fit() -> None:
    # Monday 2026-03-02, 09:00 to 10:10: three 20-minute slots; 10:00 would end past the window.
    slots = provider_slots(
        provider_id=1,
        windows=[window(1, "09:00", "10:10")],
        length=TWENTY,
        earliest=chicago("2026-03-02T00:00"),
        latest=chicago("2026-03-03T00:00"),
    )
    assert walls(slots) == ["03-02 09:00", "03-02 09:20", "03-02 09:40"]
    assert all(slot.starts_at.tzinfo is UTC and slot.ends_at - slot.starts_at == TWENTY for slot in slots)


def test_the_policy_bounds_closed_days_and_valid_dates() -> None:
    windows = [window(1, "09:00", "10:00"), window(2, "09:00", "10:00", valid_until=date(2026, 3, 3))]
    slots = provider_slots(
        provider_id=1,
        windows=windows,
        length=TWENTY,
        earliest=chicago("2026-03-02T09:10"),  # now plus the minimum notice: 09:00 is too soon
        latest=chicago("2026-03-17T00:00"),
        closed_days=frozenset({date(2026, 3, 9)}),  # the second Monday is a holiday
    )
    assert walls(slots) == [
        "03-02 09:20", "03-02 09:40",  # first Monday, after the notice
        "03-03 09:00", "03-03 09:20", "03-03 09:40",  # the Tuesday window, last valid day
        "03-16 09:00", "03-16 09:20", "03-16 09:40",  # the third Monday
    ]  # fmt: skip


def test_busy_time_removes_every_slot_it_touches() -> None:
    busy = [
        Busy(chicago("2026-03-02T09:30"), chicago("2026-03-02T09:45")),  # a held appointment at another length
        Busy(chicago("2026-03-03T00:00"), chicago("2026-03-06T00:00")),  # three days away
    ]
    slots = provider_slots(
        provider_id=1,
        windows=[window(day, "09:00", "10:20") for day in (1, 2, 5)],
        length=TWENTY,
        earliest=chicago("2026-03-02T00:00"),
        latest=chicago("2026-03-07T00:00"),
        busy=busy,
    )
    # 09:30 to 09:45 touches 09:20 and 09:40; Tuesday is away; Friday is free again.
    friday = [f"03-06 {wall}" for wall in ("09:00", "09:20", "09:40", "10:00")]
    assert walls(slots) == ["03-02 09:00", "03-02 10:00", *friday]


def test_mode_and_location_keep_the_windows_that_offer_them() -> None:
    windows = [
        window(1, "09:00", "09:40", modes="in_person", location_id=1),
        window(1, "13:00", "13:40", modes="video,phone", location_id=None),
    ]
    common = {"provider_id": 7, "windows": windows, "length": TWENTY}
    bounds = {"earliest": chicago("2026-03-02T00:00"), "latest": chicago("2026-03-03T00:00")}
    assert walls(provider_slots(**common, **bounds, mode="video")) == ["03-02 13:00", "03-02 13:20"]
    assert walls(provider_slots(**common, **bounds, location_id=1)) == ["03-02 09:00", "03-02 09:20"]
    assert provider_slots(**common, **bounds, limit=1)[0].modes == frozenset({"in_person"})


def test_spring_forward_skips_the_missing_hour_and_keeps_real_lengths() -> None:
    # Sunday 2026-03-08 in Chicago: 02:00 becomes 03:00. A night window 01:00 to 04:00.
    slots = provider_slots(
        provider_id=1,
        windows=[window(7, "01:00", "04:00")],
        length=timedelta(minutes=30),
        earliest=chicago("2026-03-08T00:00"),
        latest=chicago("2026-03-09T00:00"),
    )
    assert walls(slots) == ["03-08 01:00", "03-08 01:30", "03-08 03:00", "03-08 03:30"]
    assert [slot.starts_at.strftime("%H:%M") for slot in slots] == ["07:00", "07:30", "08:00", "08:30"]  # UTC
    # 01:30 standard time plus 30 real minutes is 03:00 daylight time: both slots follow without overlap.
    assert slots[1].ends_at == slots[2].starts_at


def test_fall_back_offers_the_repeated_hour_once() -> None:
    # Sunday 2026-11-01 in Chicago: 02:00 becomes 01:00 again. A window 00:00 to 03:00.
    slots = provider_slots(
        provider_id=1,
        windows=[window(7, "00:00", "03:00")],
        length=timedelta(hours=1),
        earliest=chicago("2026-11-01T00:00"),
        latest=chicago("2026-11-02T00:00"),
    )
    assert walls(slots) == ["11-01 00:00", "11-01 01:00", "11-01 02:00"]
    assert [slot.starts_at.strftime("%H:%M") for slot in slots] == ["05:00", "06:00", "08:00"]  # UTC
    assert len({slot.starts_at for slot in slots}) == 3


def test_a_window_in_another_zone_keeps_its_own_clock() -> None:
    # Europe changes its clocks on 2026-03-29, three weeks after Chicago: a Madrid window stays at 09:00 Madrid.
    slots = provider_slots(
        provider_id=1,
        windows=[window(1, "09:00", "09:20", zone="Europe/Madrid")],
        length=TWENTY,
        earliest=chicago("2026-03-23T00:00"),
        latest=chicago("2026-04-01T00:00"),
    )
    assert walls(slots, "Europe/Madrid") == ["03-23 09:00", "03-30 09:00"]
    assert [slot.starts_at.strftime("%H:%M") for slot in slots] == ["08:00", "07:00"]  # UTC


def test_the_skipped_hour_does_not_exist() -> None:
    zone = ZoneInfo(CHICAGO)
    assert local_moment(date(2026, 3, 8), time(2, 30), zone) is None
    assert local_moment(date(2026, 3, 8), time(3, 0), zone) == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert local_moment(date(2026, 11, 1), time(1, 30), zone) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


@given(
    starts=st.integers(min_value=0, max_value=22 * 60),
    span=st.integers(min_value=10, max_value=6 * 60),
    minutes=st.sampled_from([10, 15, 20, 30, 45, 60]),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    zone=st.sampled_from([CHICAGO, "America/New_York", "Europe/Madrid", "Australia/Sydney", "Asia/Kolkata"]),
    busy_at=st.integers(min_value=0, max_value=24 * 60),
    busy_for=st.integers(min_value=1, max_value=180),
)
def test_slots_never_overlap_busy_time_each_other_or_leave_their_day(
    starts: int, span: int, minutes: int, day: date, zone: str, busy_at: int, busy_for: int
) -> None:
    begin = time(starts // 60, starts % 60)
    end_minutes = min(starts + span, 23 * 60 + 59)
    if end_minutes <= starts:
        return
    end = time(end_minutes // 60, end_minutes % 60)
    clock = ZoneInfo(zone)
    midnight = datetime.combine(day, time()).replace(tzinfo=clock)
    busy = Busy(midnight + timedelta(minutes=busy_at), midnight + timedelta(minutes=busy_at + busy_for))
    length = timedelta(minutes=minutes)
    slots = provider_slots(
        provider_id=1,
        windows=[window(day.isoweekday(), begin.isoformat(), end.isoformat(), zone=zone)],
        length=length,
        earliest=midnight - timedelta(days=1),
        latest=midnight + timedelta(days=2),
        busy=[busy],
    )
    for slot in slots:
        assert slot.ends_at - slot.starts_at == length
        assert slot.ends_at <= busy.starts_at or slot.starts_at >= busy.ends_at
        assert slot.starts_at.astimezone(clock).date() == day
        assert begin <= slot.starts_at.astimezone(clock).time()
    assert all(a.ends_at <= b.starts_at for a, b in pairwise(slots))
