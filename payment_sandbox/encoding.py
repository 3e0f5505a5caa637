"""Stripe's request encoding (form fields in bracket notation) and the money and card helpers around it.

`line_items[0][price_data][unit_amount]=1500&metadata[payment]=abc&expand[]=customer` decodes to

    {"line_items": {"0": {"price_data": {"unit_amount": "1500"}}}, "metadata": {"payment": "abc"},
     "expand": {"0": "customer"}}

Every leaf stays a string; the processor reads integers, booleans and arrays where it expects them.
"""

from __future__ import annotations

import re
from typing import Any

KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
PART = re.compile(r"\[([^\[\]]*)\]")
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Nested dicts from form pairs; `a[]` appends (as the next index). ValueError names a bad or clashing key."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = KEY.fullmatch(key)
        if match is None:
            raise ValueError(f"Invalid parameter name: {key}")
        path = [match.group(1), *PART.findall(match.group(2))]
        node = root
        for depth, part in enumerate(path):
            name = str(len(node)) if part == "" else part
            if depth == len(path) - 1:
                if isinstance(node.get(name), dict):
                    raise ValueError(f"Invalid hash: {key} is given both as a value and as a hash")
                node[name] = value
                break
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise ValueError(f"Invalid hash: {key} is given both as a value and as a hash")
            node = child
    return root


def luhn(digits: str) -> bool:
    """The Luhn checksum every card number carries in its last digit."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def decimals(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def money(amount: int, currency: str) -> str:
    """`$150.00 USD`, `€9.50 EUR`, `1,200 JPY`: the amount as the hosted page shows it."""
    symbol = SYMBOLS.get(currency.lower())
    return f"{symbol}{number(amount, currency)} {currency.upper()}" if symbol else money_short(amount, currency)


def number(amount: int, currency: str) -> str:
    if decimals(currency) == 0:
        return f"{amount:,}"
    whole, cents = divmod(amount, 100)
    return f"{whole:,}.{cents:02d}"


def money_short(amount: int, currency: str) -> str:
    """`$150.00`, `€9.50`, `1,200 JPY`: the amount as Stripe's error messages write it."""
    symbol = SYMBOLS.get(currency.lower())
    return f"{symbol}{number(amount, currency)}" if symbol else f"{number(amount, currency)} {currency.upper()}"
