"""Form fields of the billing pages."""

from __future__ import annotations

from typing import Any

from django import forms

from billing.money import cents_from_text


class AmountField(forms.CharField):
    """An amount typed by a person ("25", "25.50", "$1,250.00"), cleaned to integer cents."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        return cents_from_text(text) if text else None
