"""The staff inbox's rows, written in Python: a page of 50 rows costs the template engine more than the page's
queries (the record's lists do the same, records.templatetags.record_values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag
def inbox_rows(rows: Iterable[dict[str, Any]], inbox_base: str) -> SafeString:
    """Each thread's row: the patient (a "New" badge when the patient's side wrote since the reader last read
    it), the MRN, the subject linking to the thread, the topic, the care team, who has it, and when a reply is
    due (flagged when overdue)."""
    # The words first, outside the f-strings (the catalog's extractor does not read inside them).
    new_word, nobody_word, overdue_word = gettext("New"), gettext("Nobody yet"), gettext("Overdue")
    new = f'<span class="badge">{escape(new_word)}</span> '
    nobody = f'<span class="muted">{escape(nobody_word)}</span>'
    overdue = f'<strong class="flag">{escape(overdue_word)}</strong> · '
    base = escape(inbox_base)
    parts: list[str] = []
    for row in rows:
        classes = " ".join(
            name for name, shown in (("inbox-overdue", row["overdue"]), ("inbox-unread", row["unread"])) if shown
        )
        assigned = escape(row["assigned"]) if row["assigned"] else nobody
        parts.append(
            f'<tr class="{classes}">\n'
            f"      <td>{new if row['unread'] else ''}{escape(row['patient'])}</td>\n"
            f"      <td>{escape(row['mrn'] or '—')}</td>\n"
            f'      <td><a href="{base}{escape(row["pk"])}/">{escape(row["subject"])}</a></td>\n'
            f"      <td>{escape(row['topic'])}</td>\n"
            f"      <td>{escape(row['pool'])}</td>\n"
            f"      <td>{assigned}</td>\n"
            f"      <td>{overdue if row['overdue'] else ''}{escape(row['due'] or row['status'])}</td>\n"
            "    </tr>"
        )
    return mark_safe("\n".join(parts))  # noqa: S308  (every part escaped above)
