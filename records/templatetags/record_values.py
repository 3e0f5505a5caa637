"""How numbers from the record read: no trailing zeros a lab never wrote, in the reader's number format."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format

from records.plain_language import flag_for

register = template.Library()


@register.filter
def measure(value: object, places: int = 3) -> str:
    """7.9 → "7.9", 120.0 → "120", 0.12345 → "0.123" (Spanish: "7,9"); anything that is not a number → ""."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return ""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return number_format(round(value, decimals), decimal_pos=decimals)


@register.filter
def when(row: Any, style: str = "date") -> str:
    """A record item's date as precisely as its source gave it: "2026", "March 2026", a day, or a day and time.

    `style`: "date" (the day only) or "datetime" (with the time, when the source gave one).
    """
    moment = getattr(row, "effective_at", None)
    if not isinstance(moment, datetime):
        return ""
    precision = (getattr(row, "details", None) or {}).get("date_precision", "")
    if precision == "year":
        return str(moment.year)
    if precision == "month":
        return date_format(moment.astimezone(UTC), "YEAR_MONTH_FORMAT")
    if precision == "day":
        return date_format(moment.astimezone(UTC), "DATE_FORMAT")  # a calendar day, not an instant
    local = timezone.localtime(moment)
    return date_format(local, "DATETIME_FORMAT" if style == "datetime" else "DATE_FORMAT")


HIGH_FLAGS = frozenset({"H", "HH", "HU", ">", "above"})
LOW_FLAGS = frozenset({"L", "LL", "LU", "<", "below"})


@register.filter
def direction(row: Any) -> str:
    """Which way an abnormal result lies: "high", "low" or "outside" (by records.plain_language.flag_for)."""
    if getattr(row, "abnormal", None) is not True:
        return ""
    flag = flag_for(
        interpretation=str((getattr(row, "details", None) or {}).get("interpretation", "")),
        value=row.value_number,
        low=row.ref_low,
        high=row.ref_high,
        abnormal=True,
    )
    return "high" if flag in HIGH_FLAGS else "low" if flag in LOW_FLAGS else "outside"
