"""A person's private calendar address, read by calendar programs (which cannot sign in): the visits booked
here for everyone the person acts for with the scheduling scope, and, where they also hold the records scope,
the appointments connected health systems told of (read only, marked with their source).

The shell puts the two together (scheduling and records do not read each other). The secret in the address
is the only key; an address ended or an account closed answers 404. A read of someone else's visits is in that
person's access history.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.actions.audit import record_audit_event
from accounts.actors import Scope, actor_for
from accounts.audience import public_page
from accounts.audit_labels import AuditAction
from proxy.access import subjects_for
from records.selectors import visible_for_subjects
from scheduling.calendar import OutsideVisit, calendar_of
from scheduling.feeds import feed_by_secret
from scheduling.selectors import FEED_CAP, FEED_PAST, appointments_for_feed

OUTSIDE_LENGTH = timedelta(minutes=30)  # a health system's appointment is read with its start only


@public_page
@require_safe
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    feed = feed_by_secret(secret)
    if feed is None:
        raise Http404
    actor = actor_for(feed.user)
    subjects = [subject for subject in subjects_for(actor) if Scope.SCHEDULING in subject.scopes]
    now = timezone.now()
    ours = appointments_for_feed([subject.patient.pk for subject in subjects], now=now)
    rows = (
        visible_for_subjects(actor, subjects)
        .filter(kind="appointment", effective_at__gte=now - FEED_PAST)
        .select_related("source")
        .only("pk", "effective_at", "status", "source__label")
        .order_by("effective_at")[:FEED_CAP]
    )
    outside = [
        OutsideVisit(
            uid=f"record-{row.pk}",
            starts_at=row.effective_at,
            ends_at=row.effective_at + OUTSIDE_LENGTH,
            source=row.source.label,
            cancelled=row.status in ("cancelled", "noshow", "entered-in-error"),
        )
        for row in rows
        if row.effective_at is not None
    ]
    for subject in subjects:
        if not subject.is_self:
            record_audit_event(
                action=AuditAction.CALENDAR_FEED_READ,
                actor=actor,
                request=request,
                subject=subject.patient,
                basis=subject.basis,
                object_type="calendarfeed",
                object_id=feed.pk,
            )
    response = HttpResponse(calendar_of(ours, outside), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
