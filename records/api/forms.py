"""The pages' forms, run by the API: the same rules and messages, answered as a 400 naming each field.

An API serializer checks the shape of a body (types, required fields, choices: what the OpenAPI schema says);
the page's form then checks everything else it checks on the page (a day not in the future, a reading within
its range, a range that ends after it starts), so the API never accepts what the page refuses.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings


def field_errors(errors: ErrorDict) -> dict[str, list[str]]:
    """A form's errors by field name; the form's own (`__all__`) under DRF's name for them."""
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name): [
            str(message) for message in messages
        ]
        for name, messages in errors.items()
    }


def checked_by(form: forms.Form) -> dict[str, Any]:
    """The form's cleaned data, or a ValidationError (400) with its messages by field."""
    if not form.is_valid():
        raise ValidationError(field_errors(form.errors))
    return form.cleaned_data
