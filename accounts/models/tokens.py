"""API tokens. Only a digest is stored; the token is shown once when made."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from accounts.models.people import User

TOKEN_PREFIX = "fhp_"  # noqa: S105  (a public prefix, not a secret)


def digest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
