"""Video visits: each has a room of its own at the organization's video service, whose link shows on the visit
from a little before it starts until a little after it ends (not earlier: a link sent days ahead gets forwarded,
and a room open for days is a room anyone holding the link can sit in).

The room's name is a random secret made when the visit is booked; it names nothing about the person or the
visit. VIDEO_VISIT_BASE_URL is the service (settings).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from scheduling.models import Appointment

JOIN_OPENS_BEFORE = timedelta(minutes=15)
JOIN_CLOSES_AFTER = timedelta(minutes=30)  # after the visit's planned end: visits run late


def new_room() -> str:
    return secrets.token_urlsafe(18)


def join_opens_at(appointment: Appointment) -> datetime:
    return appointment.starts_at - JOIN_OPENS_BEFORE


def join_url(appointment: Appointment, *, now: datetime) -> str | None:
    """The link to the visit's room while it may be joined; None before, after, or for a visit that is not held
    by video."""
    if appointment.mode != "video" or not appointment.holds_time or not appointment.video_room:
        return None
    if not join_opens_at(appointment) <= now <= appointment.ends_at + JOIN_CLOSES_AFTER:
        return None
    return f"{settings.VIDEO_VISIT_BASE_URL.rstrip('/')}/{appointment.video_room}"
