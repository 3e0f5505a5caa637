"""A lab test's trend as a small server-rendered SVG, inlined into the page.

The page runs under a strict Content-Security-Policy, so the drawing carries no script, no style
attribute or element and no external reference: colours and strokes come from the site's stylesheet
through class names (trend, trend-band, trend-axis, trend-grid, trend-line, trend-point,
trend-point-abnormal, trend-point-patient, trend-label), with a few presentation attributes where the
drawing needs them (no fill under a line, a dashed line, text anchors). Every word and number that
comes from a record or from the caller is escaped.

Time runs along x by date, not by index. Values the person entered themselves are squares, never
joined to the health systems' line (they get their own dashed line), so the two are never mistaken for
one series.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.formats import get_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


@dataclass(frozen=True)
class TrendPoint:
    when: datetime
    value: float
    abnormal: bool | None = None
    patient_entered: bool = False
    label: str = ""  # where the value came from (a health system's name), shown in the point's tooltip


@dataclass(frozen=True)
class ChartText:
    """The chart's words, already in the reader's language."""

    title: str
    description: str
    band: str  # e.g. "Usual range"
    patient_entered: str  # e.g. "Entered by you"


# Nice tick steps are these times a power of ten.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0)

_FONT_SIZE = 11
_CHAR_WIDTH = 6.2  # an average character's width at that size, to leave room for labels
_POINT_RADIUS = 3.5
_INSET = 10.0  # keeps the first and last points off the axes
_BEYOND_MEASUREMENT = 1e300  # values past this are not measurements, and their range would overflow
_ID_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# Characters XML 1.0 does not allow in a document (control characters, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return str(escape(_NOT_XML.sub("", value)))


def _xy(value: float) -> str:
    return f"{value:.1f}".replace("-0.0", "0.0")


# Numbers ------------------------------------------------------------------------------------------------


def _step_decimals(step: float) -> int:
    """Decimal places that show every multiple of step exactly (0.25 needs 2, 0.5 needs 1, 50 needs 0)."""
    exponent = math.floor(math.log10(step) + 1e-9)
    mantissa = step / 10.0**exponent
    return max(0, -exponent + (1 if abs(mantissa - 2.5) < 1e-6 else 0))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering low..high.

    The first tick is at or below low and the last at or above high; with the default count there are 4 to 6.
    An empty range (low == high) is widened by a tenth of its value (or by 1 around zero).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("ticks need finite bounds")
    if count < 2:
        raise ValueError("at least two ticks")
    low, high = min(low, high), max(low, high)
    magnitude = max(abs(low), abs(high))
    if high - low <= magnitude * 1e-12:
        pad = magnitude * 0.1 or 1.0
        low, high = low - pad, high + pad
    span = high - low
    if not math.isfinite(span):
        raise ValueError("the range is too wide to draw")
    exponent = math.floor(math.log10(span / (count - 1)))
    best: tuple[tuple[int, float], list[float]] | None = None
    for power in range(exponent - 1, exponent + 2):
        for mantissa in NICE_STEPS:
            step = mantissa * 10.0**power
            if step <= 0 or not math.isfinite(step):
                continue
            ticks = _covering(low, high, step)
            # Closest to the asked count, then the tightest cover of the range.
            score = (abs(len(ticks) - count), ticks[-1] - ticks[0])
            if best is None or score < best[0]:
                best = (score, ticks)
    if best is None:
        raise ValueError("no tick step fits this range")
    return best[1]


def _covering(low: float, high: float, step: float) -> list[float]:
    """The multiples of step from the last at or below low to the first at or above high."""
    decimals = _step_decimals(step)

    def tick(index: int) -> float:
        return round(index * step, decimals) + 0.0  # rounding drops float noise (0.6000000000000001); + 0.0 drops -0

    first, last = math.floor(low / step), math.ceil(high / step)
    # The division is not exact (9e-9 / 5e-10 is 17.999999999999996): settle on the rounded ticks themselves.
    while tick(first) > low:
        first -= 1
    while tick(first + 1) <= low:
        first += 1
    while tick(last) < high:
        last += 1
    while tick(last - 1) >= high:
        last -= 1
    return [tick(index) for index in range(first, last + 1)]


def _localized(text: str) -> str:
    separator = str(get_format("DECIMAL_SEPARATOR"))
    return text.replace(".", separator) if separator != "." else text


def _tick_text(value: float, step: float, largest: float) -> str:
    if largest >= 1e7 or step < 1e-4:
        return _localized(f"{value:.3g}")
    return str(number_format(value, decimal_pos=_step_decimals(step)))


def _value_text(value: float) -> str:
    """A measured value as people read it: up to four significant digits, at most three decimals."""
    return _remembered_value_text(value, get_language())


@functools.lru_cache(maxsize=8192)
def _remembered_value_text(value: float, language: str) -> str:
    """A chart repeats its values (and a test's values recur): each is written once per language."""
    size = abs(value)
    if size >= 1e7 or (0 < size < 1e-3):
        return _localized(f"{value:.4g}")
    decimals = 0 if size == 0 else max(0, min(3, 3 - math.floor(math.log10(size))))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return str(number_format(Decimal(text)))


# Time ---------------------------------------------------------------------------------------------------

_DAY_STEPS = (1, 2, 7, 14)
_MONTH_STEPS = (1, 2, 3, 6)
_YEAR_STEPS = (1, 2, 5, 10, 20, 50, 100)


def _noon(like: datetime, year: int, month: int, day: int) -> datetime:
    return like.replace(year=year, month=month, day=day, hour=12, minute=0, second=0, microsecond=0)


def _calendar_ticks(start: datetime, end: datetime, kind: str, step: int) -> list[datetime]:
    """Days, months or years within start..end, at noon so that a nearby time zone shows the same date."""
    ticks: list[datetime] = []
    if kind == "day":
        moment = _noon(start, start.year, start.month, start.day)
        while moment <= end:
            if moment >= start:
                ticks.append(moment)
            moment += timedelta(days=step)
    elif kind == "month":
        index = start.year * 12 + start.month - 1
        index -= index % step
        while True:
            moment = _noon(start, index // 12, index % 12 + 1, 1)
            if moment > end:
                break
            if moment >= start:
                ticks.append(moment)
            index += step
    else:
        year = start.year - start.year % step
        while year <= end.year:
            if year >= 1:
                moment = _noon(start, year, 1, 1)
                if start <= moment <= end:
                    ticks.append(moment)
            year += step
    return ticks


def _time_ticks(start: datetime, end: datetime, most: int) -> list[datetime]:
    """At most `most` calendar-aligned dates between start and end; the two ends when none fit."""
    if (start.tzinfo is None) != (end.tzinfo is None):
        return [start, end]  # naive and aware times cannot be compared; their ends can still be shown
    if start == end:
        return [start]
    candidates = [("day", n) for n in _DAY_STEPS] + [("month", n) for n in _MONTH_STEPS]
    candidates += [("year", n) for n in _YEAR_STEPS]
    span_days = (end - start).total_seconds() / 86400
    for kind, step in candidates:
        length = {"day": step, "month": 30 * step, "year": 365 * step}[kind]
        if span_days / length > most + 1:  # far too many; skip without building them
            continue
        try:
            ticks = _calendar_ticks(start, end, kind, step)
        except (OverflowError, ValueError):  # the calendar ends in year 9999
            continue
        if 2 <= len(ticks) <= most:
            return ticks
    return [start, end]


# Drawing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    left: float
    top: float
    right: float
    bottom: float
    low: float  # value at the bottom edge
    high: float  # value at the top edge
    start: float  # timestamp at the left edge of the points
    end: float

    def x(self, timestamp: float) -> float:
        if self.end == self.start:
            return (self.left + self.right) / 2
        usable = self.right - self.left - 2 * _INSET
        return self.left + _INSET + (timestamp - self.start) / (self.end - self.start) * usable

    def y(self, value: float) -> float:
        return self.bottom - (value - self.low) / (self.high - self.low) * (self.bottom - self.top)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and abs(value) <= _BEYOND_MEASUREMENT else None


def _value_range(values: list[float], low: float | None, high: float | None) -> tuple[float, float]:
    everything = values + [bound for bound in (low, high) if bound is not None]
    bottom, top = min(everything), max(everything)
    span = top - bottom
    pad = span * 0.08 if span > 0 else (abs(top) * 0.1 or 1.0)
    return bottom - pad, top + pad


def _band_title(text: ChartText, unit: str, low: float | None, high: float | None) -> str:
    unit_part = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{text.band}: {_value_text(low)}\N{EN DASH}{_value_text(high)}{unit_part}"
    if low is not None:
        return f"{text.band}: ≥ {_value_text(low)}{unit_part}"
    if high is not None:
        return f"{text.band}: ≤ {_value_text(high)}{unit_part}"
    return text.band


def _point_title(point: TrendPoint, unit: str, text: ChartText, date_format: Callable[[datetime], str]) -> str:
    parts = [f"{_value_text(point.value)} {unit}".strip(), date_format(point.when), point.label]
    if point.patient_entered and text.patient_entered not in parts:
        parts.append(text.patient_entered)
    return " · ".join(part for part in parts if part)


def _point_shape(point: TrendPoint, x: float, y: float, title: str) -> str:
    classes = ["trend-point"]
    if point.patient_entered:
        classes.append("trend-point-patient")
    if point.abnormal:
        classes.append("trend-point-abnormal")
    tooltip = f"<title>{_text(title)}</title>"
    if point.patient_entered:
        side = 2 * _POINT_RADIUS
        return (
            f'<rect class="{" ".join(classes)}" x="{_xy(x - _POINT_RADIUS)}" y="{_xy(y - _POINT_RADIUS)}" '
            f'width="{_xy(side)}" height="{_xy(side)}">{tooltip}</rect>'
        )
    return f'<circle class="{" ".join(classes)}" cx="{_xy(x)}" cy="{_xy(y)}" r="{_POINT_RADIUS}">{tooltip}</circle>'


def _polyline(coordinates: list[tuple[float, float]], classes: str, extra: str = "") -> str:
    if len(coordinates) < 2:
        return ""
    points = " ".join(f"{_xy(x)},{_xy(y)}" for x, y in coordinates)
    return f'<polyline class="{classes}" fill="none" stroke="currentColor"{extra} points="{points}"/>'


def _legend(text: ChartText, frame: _Frame, band: bool, patient: bool) -> str:
    parts: list[str] = []
    x = frame.left
    y = 12.0
    if band:
        parts.append(f'<rect class="trend-band" x="{_xy(x)}" y="{_xy(y - 7)}" width="12" height="8"/>')
        parts.append(f'<text class="trend-label" x="{_xy(x + 16)}" y="{_xy(y)}">{_text(text.band)}</text>')
        x += 16 + len(text.band) * _CHAR_WIDTH + 16
    if patient:
        side = 2 * _POINT_RADIUS
        parts.append(
            f'<rect class="trend-point trend-point-patient" x="{_xy(x + 2)}" y="{_xy(y - side)}" '
            f'width="{_xy(side)}" height="{_xy(side)}"/>'
        )
        parts.append(f'<text class="trend-label" x="{_xy(x + 16)}" y="{_xy(y)}">{_text(text.patient_entered)}</text>')
    return f"<g>{''.join(parts)}</g>" if parts else ""


def trend_svg(
    points: Sequence[TrendPoint],
    *,
    unit: str,
    low: float | None,
    high: float | None,
    text: ChartText,
    date_format: Callable[[datetime], str],
    width: int = 640,
    height: int = 260,
    id_prefix: str = "trend",
) -> SafeString:
    """The trend as an inline <svg>, or an empty string when no point has a finite value.

    `unit` is shown as given (pass display_unit's reading); `low` and `high` bound the usual range
    (either may be None; a band reversed, low above high, is not drawn). `id_prefix` makes the title and
    description ids unique when a page holds several charts.
    """
    if not _ID_PREFIX.match(id_prefix):
        raise ValueError("id_prefix must be a letter followed by letters, digits, '-' or '_'")
    drawn = sorted(
        (point for point in points if _finite(point.value) is not None), key=lambda point: point.when.timestamp()
    )
    if not drawn:
        return mark_safe("")
    low, high = _finite(low), _finite(high)
    if low is not None and high is not None and low > high:
        low = high = None
    has_band = low is not None or high is not None
    has_patient = any(point.patient_entered for point in drawn)

    values = [point.value for point in drawn]
    ticks = nice_ticks(*_value_range(values, low, high))
    step = ticks[1] - ticks[0]
    largest = max(abs(ticks[0]), abs(ticks[-1]))
    tick_labels = [_tick_text(tick, step, largest) for tick in ticks]
    left = max(len(label) for label in tick_labels) * _CHAR_WIDTH + 10
    top = 22.0 if has_band or has_patient else 8.0
    frame = _Frame(
        left=left,
        top=top,
        right=width - 12.0,
        bottom=height - 24.0,
        low=ticks[0],
        high=ticks[-1],
        start=drawn[0].when.timestamp(),
        end=drawn[-1].when.timestamp(),
    )

    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-size="{_FONT_SIZE}">',
        f'<title id="{title_id}">{_text(text.title)}</title>',
        f'<desc id="{desc_id}">{_text(text.description)}</desc>',
        _legend(text, frame, has_band, has_patient),
    ]

    if has_band:
        band_top = frame.y(high) if high is not None else frame.top
        band_bottom = frame.y(low) if low is not None else frame.bottom
        parts.append(
            f'<rect class="trend-band" x="{_xy(frame.left)}" y="{_xy(band_top)}" '
            f'width="{_xy(frame.right - frame.left)}" height="{_xy(max(band_bottom - band_top, 1.0))}">'
            f"<title>{_text(_band_title(text, unit, low, high))}</title></rect>"
        )

    grid = [
        f'<line x1="{_xy(frame.left)}" y1="{_xy(frame.y(tick))}" x2="{_xy(frame.right)}" y2="{_xy(frame.y(tick))}"/>'
        for tick in ticks[1:]
    ]
    parts.append(f'<g class="trend-grid" stroke="currentColor" stroke-opacity="0.15">{"".join(grid)}</g>')

    axis = [
        f'<line x1="{_xy(frame.left)}" y1="{_xy(frame.top)}" x2="{_xy(frame.left)}" y2="{_xy(frame.bottom)}"/>',
        f'<line x1="{_xy(frame.left)}" y1="{_xy(frame.bottom)}" x2="{_xy(frame.right)}" y2="{_xy(frame.bottom)}"/>',
    ]
    parts.append(f'<g class="trend-axis" stroke="currentColor">{"".join(axis)}</g>')
    labels = [
        f'<text class="trend-label" x="{_xy(frame.left - 6)}" y="{_xy(frame.y(tick) + 4)}" '
        f'text-anchor="end">{_text(label)}</text>'
        for tick, label in zip(ticks, tick_labels, strict=True)
    ]
    label_width = max(len(date_format(drawn[0].when)) * _CHAR_WIDTH, 40.0)
    most = max(2, int((frame.right - frame.left) // (label_width + 16)))
    previous = None
    for moment in _time_ticks(drawn[0].when, drawn[-1].when, most):
        label = date_format(moment)
        if label == previous:  # two ticks the reader's date format cannot tell apart
            continue
        previous = label
        x = min(max(frame.x(moment.timestamp()), frame.left + label_width / 2), width - label_width / 2)
        labels.append(
            f'<text class="trend-label" x="{_xy(x)}" y="{_xy(frame.bottom + 16)}" '
            f'text-anchor="middle">{_text(label)}</text>'
        )
    parts.append(f"<g>{''.join(labels)}</g>")

    clinical = [point for point in drawn if not point.patient_entered]
    entered = [point for point in drawn if point.patient_entered]
    parts.append(_polyline([(frame.x(p.when.timestamp()), frame.y(p.value)) for p in clinical], "trend-line"))
    parts.append(
        _polyline(
            [(frame.x(p.when.timestamp()), frame.y(p.value)) for p in entered],
            "trend-line trend-line-patient",
            ' stroke-dasharray="4 3"',
        )
    )
    shapes = [
        _point_shape(
            point, frame.x(point.when.timestamp()), frame.y(point.value), _point_title(point, unit, text, date_format)
        )
        for point in drawn
    ]
    parts.append(f"<g>{''.join(shapes)}</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every dynamic text above went through _text()
