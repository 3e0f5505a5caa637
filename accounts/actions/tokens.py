"""Issuing and revoking API tokens (only from a fully verified web session)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import ApiToken, User
from accounts.models.tokens import DEFAULT_TOKEN_LIFETIME_DAYS, TOKEN_LIFETIMES_DAYS, digest_token, new_token

if TYPE_CHECKING:
    from django.http import HttpRequest


@transaction.atomic
def create_api_token(
    *, user: User, name: str, request: HttpRequest, lifetime_days: int = DEFAULT_TOKEN_LIFETIME_DAYS
) -> tuple[ApiToken, str]:
    """Returns the token row and the token itself, which is never shown again."""
    if lifetime_days not in TOKEN_LIFETIMES_DAYS:
        raise ValueError(f"A token lasts one of {TOKEN_LIFETIMES_DAYS} days, not {lifetime_days}.")
    token = new_token()
    now = timezone.now()
    row = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        digest=digest_token(token),
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    record_audit_event(
        action=AuditAction.API_TOKEN_CREATED,
        user=user,
        request=request,
        basis="self",
        object_type="api_token",
        object_id=row.pk,
        detail={"lifetime_days": lifetime_days},
    )
    return row, token


@transaction.atomic
def revoke_api_token(*, user: User, token: ApiToken, request: HttpRequest) -> bool:
    """Ends one of `user`'s own tokens (from accounts.access.access_api_token_by_id); False if already ended."""
    token_id = token.pk
    revoked = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        record_audit_event(
            action=AuditAction.API_TOKEN_REVOKED,
            user=user,
            request=request,
            basis="self",
            object_type="api_token",
            object_id=token_id,
        )
    return bool(revoked)
