"""API tokens. Only a digest is stored; the token is shown once when made."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from accounts.models.people import User

TOKEN_PREFIX = "fhp_"  # noqa: S105  (a public prefix, not a secret)
TOKEN_LIFETIMES_DAYS = (30, 90, 365)
DEFAULT_TOKEN_LIFETIME_DAYS = 90


def digest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def default_token_expiry() -> datetime:
    # Also what tokens made before expiry existed received when the column was added.
    return timezone.now() + timedelta(days=DEFAULT_TOKEN_LIFETIME_DAYS)


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=default_token_expiry)

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def works(self) -> bool:
        return self.revoked_at is None and not self.is_expired
