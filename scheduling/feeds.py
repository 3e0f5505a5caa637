"""Private calendar addresses (CalendarFeed): made, ended, and found from the secret a calendar program sends."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from scheduling.models import CalendarFeed
from scheduling.offers import digest_of


def make_calendar_feed(*, actor: Actor, request: HttpRequest | None = None) -> str:
    """A new private address for the actor's own account (the old one stops working); returns its secret,
    shown once."""
    assert actor.user is not None
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.filter(user=actor.user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        CalendarFeed.objects.create(user=actor.user, digest=digest_of(secret))
        record_audit_event(action=AuditAction.CALENDAR_FEED_CHANGED, user=actor.user, request=request)
    return secret


def end_calendar_feed(*, actor: Actor, request: HttpRequest | None = None) -> None:
    assert actor.user is not None
    with transaction.atomic():
        CalendarFeed.objects.filter(user=actor.user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_audit_event(action=AuditAction.CALENDAR_FEED_CHANGED, user=actor.user, request=request)


def live_feed_of(user_id: int) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user_id=user_id, revoked_at__isnull=True).first()


def feed_by_secret(secret: str) -> CalendarFeed | None:
    """The live address with this secret, of an active account; None for anything else."""
    feed = (
        CalendarFeed.objects.filter(digest=digest_of(secret), revoked_at__isnull=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if feed is not None:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=timezone.now())
    return feed
