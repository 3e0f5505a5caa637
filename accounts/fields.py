"""Model fields whose database column never holds plain text."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted with the field-encryption keys before it reaches the database.

    The column holds a Fernet token; lookups other than isnull cannot work on
    it, so the field is never indexed or filtered by value.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
