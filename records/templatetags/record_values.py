"""How the record reads on its pages: numbers without trailing zeros a lab never wrote, in the reader's number
format; dates as precisely as the source gave them; and the parts every list repeats on each line (a result's value,
usual range, flag and sources, an item's line, a row of the results list, of a test's values, of the timeline),
written here in Python because an {% include %} per cell cost more than the rest of a page."""

from __future__ import annotations

import functools
import math
from datetime import UTC, date, datetime
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import date_format, localize, number_format
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext, ngettext, pgettext

from records.plain_language import flag_for
from records.sections import SECTIONS

register = template.Library()


@register.filter
def measure(value: object, places: int = 3) -> str:
    """7.9 → "7.9", 120.0 → "120", 0.12345 → "0.123" (Spanish: "7,9"); anything that is not a number → ""."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return ""
    if value == 0:  # 0.0 and -0.0 are one key to a cache ("-0" and "0" to number_format)
        return _number_text(value, places)
    return _remembered_number_text(value, places, get_language())


@functools.lru_cache(maxsize=8192)
def _remembered_number_text(value: float, places: int, language: str) -> str:
    """The same numbers recur on a page (a test's usual range on every line): each is written once per language."""
    return _number_text(value, places)


def _number_text(value: float, places: int) -> str:
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
        return day_text(moment.astimezone(UTC).date(), "YEAR_MONTH_FORMAT")
    if precision == "day":
        return day_text(moment.astimezone(UTC).date(), "DATE_FORMAT")  # a calendar day, not an instant
    local = timezone.localtime(moment)
    if style == "datetime":
        return date_format(local, "DATETIME_FORMAT")
    return day_text(local.date(), "DATE_FORMAT")


def day_text(day: date, format_name: str) -> str:
    """A calendar day in one of the reader's date formats ("DATE_FORMAT", "SHORT_DATE_FORMAT", "YEAR_MONTH_FORMAT").

    A list repeats the same days (a visit's results, a day on the timeline, a test's values): each day is
    written once per language and format, and remembered.
    """
    return _day_text(day, format_name, get_language())


@functools.lru_cache(maxsize=8192)
def _day_text(day: date, format_name: str, language: str) -> str:
    return date_format(day, format_name)


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


# The parts every record list repeats on each line (a result's value, its usual range, its flag, its sources, an
# item's line), written here rather than as included templates: an {% include %} per cell costs more than the rest
# of the page. The words are the same msgids (and contexts) the templates used; what comes from the record is
# escaped (conditional_escape), the words of the catalog are trusted as {% translate %} trusts them.


def _words(text: str) -> SafeString:
    """A translated phrase, trusted as {% translate %} trusts it (the catalog is ours, not the record's)."""
    return mark_safe(text)  # noqa: S308


_SPOT = 918273645546372819  # a number no page's address holds: where a row's id goes


@register.simple_tag(takes_context=True)
def record_nav(context: template.Context) -> SafeString:
    """The record's navigation, the same on every record page but for the part that is current.

    It holds nothing of the person (addresses and our own words), so it is drawn once per language, address
    prefix, current part and whether the reader is the patient (who alone has the privacy page), and remembered.
    """
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else ""
    slug = str(match.kwargs.get("section", "")) if match else ""
    actor = context.get("actor")
    for_self = bool(getattr(actor, "acts_for_self", False))
    return _record_nav(get_language(), get_script_prefix(), get_urlconf(), here or "", slug, for_self)


@functools.lru_cache(maxsize=512)
def _record_nav(language: str, prefix: str, urlconf: str | None, here: str, slug: str, for_self: bool) -> SafeString:
    # language, prefix and urlconf are the key only: the template reads them from the thread as {% url %} does.
    context = {"here": here, "slug": slug, "for_self": for_self, "record_sections": SECTIONS.values()}
    return mark_safe(render_to_string("records/parts/nav.html", context))  # noqa: S308  (a template, autoescaped)


@register.filter
def page_url(row: Any) -> str:
    """The page of a row of the record, as {% url %} reverses it: a result's page, or another item's.

    Reversed once per address pattern (with a stand-in id), then filled in for each row of a list.
    """
    name = "records:result" if row.resource_type == "Observation" else "records:item"
    before, after = _url_around_id(name, get_script_prefix(), get_urlconf())
    return f"{before}{int(row.pk)}{after}"


@functools.lru_cache(maxsize=64)
def _url_around_id(name: str, prefix: str, urlconf: str | None) -> tuple[str, str]:
    before, spot, after = reverse(name, args=[_SPOT], urlconf=urlconf).partition(str(_SPOT))
    if not spot:  # pragma: no cover - every record page's address has the id
        raise ValueError(name)
    return before, after


def _flag(row: Any, normal_words: bool = False) -> str:
    way = direction(row)
    if way == "high":
        return ' <strong class="flag">' + _words(gettext("higher than the usual range")) + "</strong>"
    if way == "low":
        return ' <strong class="flag">' + _words(gettext("lower than the usual range")) + "</strong>"
    if way:
        return ' <strong class="flag">' + _words(gettext("outside the usual range")) + "</strong>"
    if getattr(row, "abnormal", None) is False and normal_words:
        return ' <span class="muted">' + _words(gettext("within the usual range")) + "</span>"
    return ""


@register.simple_tag
def result_flag(row: Any, normal_words: bool = False) -> SafeString:
    """Which way an abnormal result lies, in words (and "within the usual range" where `normal_words` asks)."""
    return mark_safe(_flag(row, normal_words) + "\n")  # noqa: S308  (every part escaped above)


@register.simple_tag
def result_value(row: Any) -> SafeString:
    """A result's value with its unit, its flag in words, and whether it was corrected or is preliminary."""
    if row.value_number is not None:
        value = f"{escape(measure(row.value_number))} {escape(row.unit)}"
    elif row.value_text:
        value = escape(Truncator(row.value_text).chars(120)) + (f" {escape(row.unit)}" if row.unit else "")
    else:
        value = '<span class="muted">' + _words(gettext("No value given")) + "</span>"
    if row.status in ("corrected", "amended"):
        status = ' <span class="badge">' + _words(pgettext("result status", "Corrected")) + "</span>"
    elif row.status == "preliminary":
        status = ' <span class="badge">' + _words(pgettext("result status", "Preliminary")) + "</span>"
    else:
        status = ""
    return mark_safe(f"{value}{_flag(row, normal_words=True)}\n{status}\n")  # noqa: S308  (every part escaped)


@register.simple_tag
def result_range(row: Any) -> SafeString:
    """A result's usual range: "70 to 99 mg/dL" (with an en dash), "60 mL/min or more", "up to 200 mg/dL", or none."""
    if row.ref_low is not None and row.ref_high is not None:
        text = f"{escape(measure(row.ref_low))}\N{EN DASH}{escape(measure(row.ref_high))} {escape(row.unit)}"
    elif row.ref_low is not None:
        text = gettext("%(low)s %(unit)s or more") % {"low": escape(measure(row.ref_low)), "unit": escape(row.unit)}
    elif row.ref_high is not None:
        text = gettext("up to %(high)s %(unit)s") % {"high": escape(measure(row.ref_high)), "unit": escape(row.unit)}
    elif row.ref_text:
        text = escape(row.ref_text)
    else:
        text = '<span class="muted">' + _words(pgettext("reference range", "Not given")) + "</span>"
    return mark_safe(text + "\n")  # noqa: S308  (every part escaped above)


def _sources(item: Any, actor: Any) -> str:
    badges = "".join(f'<span class="badge badge-source">{escape(label)}</span>' for label in item.sources)
    if item.row.sensitivity != "normal" and getattr(actor, "acts_for_self", False):
        only_you = _words(gettext("Only you see this item. People who help you see it only if you choose."))
        private = _words(pgettext("sensitive item", "Private"))
        badges += f' <span class="badge badge-quiet" title="{only_you}">{private}</span>'
    return f'<span class="sources">{badges}</span>\n'


@register.simple_tag(takes_context=True)
def item_sources(context: template.Context, item: Any) -> SafeString:
    """Every source's name of an item, and "Private" on a sensitive one (shown to the person themselves only)."""
    return mark_safe(_sources(item, context.get("actor")))  # noqa: S308  (every part escaped above)


@register.simple_tag(takes_context=True)
def item_line(context: template.Context, item: Any) -> SafeString:
    """An item on a list (the summary, a section, the timeline): its name and page, value, flag, date, sources."""
    return item_line_for(item, context.get("actor"))


def item_line_for(item: Any, actor: Any) -> SafeString:
    row = item.row
    page = page_url(row)
    name = escape(row.display) if row.display else _words(gettext("Unnamed item"))
    if row.value_number is not None:
        value = f" · {escape(measure(row.value_number))} {escape(row.unit)}"
    elif row.value_text and row.resource_type == "Observation":
        value = f" · {escape(Truncator(row.value_text).chars(80))}"
    else:
        value = ""
    day = f'<span class="muted"> · {escape(when(row))}</span>' if row.effective_at else ""
    line = f'<a href="{escape(page)}">{name}</a>\n{value}\n{_flag(row)}\n\n{day}\n{_sources(item, actor)}\n'
    return mark_safe(line)  # noqa: S308  (every part escaped above)


@register.simple_tag(takes_context=True)
def result_line(context: template.Context, line: Any) -> SafeString:
    """A test's row on the results list: its name and page (and how many values it has), its latest value, the
    usual range, the date and the sources."""
    item = line.latest
    row = item.row
    name = escape(row.display) if row.display else _words(gettext("Unnamed test"))
    count = ""
    if line.count > 1:
        values = ngettext("%(counter)s value", "%(counter)s values", line.count) % {
            "counter": escape(localize(line.count))
        }
        count = f' <span class="muted">({values})</span>'
    day = escape(when(row)) or _words(gettext("Date not given"))
    return mark_safe(  # noqa: S308  (every part escaped)
        f'<tr>\n      <th scope="row"><a href="{escape(page_url(row))}">{name}</a>{count}</th>\n'
        f"      <td>{result_value(row)}</td>\n"
        f"      <td>{result_range(row)}</td>\n"
        f"      <td>{day}</td>\n"
        f"      <td>{_sources(item, context.get('actor'))}</td>\n"
        "    </tr>"
    )


@register.simple_tag(takes_context=True)
def history_line(context: template.Context, item: Any, shown: Any) -> SafeString:
    """A value's row in the table of a test's values: its date (a link unless it is the value shown), the value,
    the usual range and the sources."""
    row = item.row
    day: str = escape(when(row)) or _words(gettext("Date not given"))
    if row.pk != shown.pk:
        day = f'<a href="{escape(page_url(row))}">{day}</a>'
    return mark_safe(  # noqa: S308  (every part escaped)
        f'<tr>\n    <th scope="row">{day}</th>\n'
        f"    <td>{result_value(row)}</td><td>{result_range(row)}</td><td>{_sources(item, context.get('actor'))}</td>\n"
        "  </tr>"
    )


@register.simple_tag(takes_context=True)
def timeline_entries(context: template.Context, items: Any) -> SafeString:
    """The timeline's items, each with its kind, under a heading for each day."""
    actor = context.get("actor")
    parts: list[str] = []
    previous: object = object()
    for item in items:
        day = item.day
        if day != previous:
            parts.append(f'<li class="timeline-day"><h2>{escape(when(item.row))}</h2></li>')
            previous = day
        parts.append(f'\n  <li><span class="kind">{escape(item.kind_label)}</span> {item_line_for(item, actor)}</li>')
    return mark_safe("".join(parts))  # noqa: S308  (every part escaped)
