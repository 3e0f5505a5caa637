"""Money as integer cents with a currency: parsing what people type, and showing amounts.

Amounts are never floats. What a person types ("150", "150.5", "$1,250.00") becomes cents or a clear
error; a third decimal, a sign or letters are refused rather than rounded.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

CURRENCIES = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£", "MXN": "MX$"}
DEFAULT_CURRENCY = "USD"
MAX_CENTS = 10_000_000_00  # ten million: larger than any bill we expect, small enough to catch a typo

_TYPED = re.compile(r"^\s*[$€£]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:[.](\d{1,2}))?\s*$")


def format_money(cents: int, currency: str = DEFAULT_CURRENCY) -> str:
    """ "$1,250.00", "-$20.00" (a credit); the grouping follows the active language."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    amount = number_format(f"{whole}.{part:02d}", decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = CURRENCIES.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def cents_from_text(typed: str) -> int:
    """What a person typed as an amount, in cents; ValidationError with a message they can act on."""
    found = _TYPED.match(typed or "")
    if not found:
        raise ValidationError(_("Type an amount like 25 or 25.50."), code="amount_format")
    whole, part = found.group(1).replace(",", ""), (found.group(2) or "0").ljust(2, "0")
    cents = int(whole) * 100 + int(part)
    if cents > MAX_CENTS:
        raise ValidationError(_("That amount is too large."), code="amount_too_large")
    return cents


def cents_to_text(cents: int) -> str:
    """Cents as a plain amount for a form field ("150.00"), no symbol or grouping."""
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"
