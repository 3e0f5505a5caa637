from __future__ import annotations

from django import template

from billing.money import DEFAULT_CURRENCY, format_money

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = DEFAULT_CURRENCY) -> str:
    """{{ entry.amount_cents|money:account.currency }}: "$1,250.00"."""
    return format_money(int(cents or 0), currency or DEFAULT_CURRENCY)


@register.filter
def money_abs(cents: int | None, currency: str = DEFAULT_CURRENCY) -> str:
    return format_money(abs(int(cents or 0)), currency or DEFAULT_CURRENCY)
