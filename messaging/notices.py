"""The outbox's delivery: notices say only that there is something to see, with a link, and leave once.

A notice row is written in the transaction of what it announces (messaging.actions.queue_notice). After
commit a worker is asked to deliver; if the broker is down the row simply waits, and the next sweep (beat,
every NOTICE_SWEEP_SECONDS) sends it. Each row is sent under its own row lock, skipped by anyone else
sending at the same moment, and marked sent in the same transaction: one email per notice.
"""

from __future__ import annotations

import logging
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from messaging.models import Notice, NoticeKind

logger = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 10


def _ask_for_delivery() -> None:
    from messaging.tasks import deliver_notices

    try:
        deliver_notices.apply_async(retry=False)
    except (KombuOperationalError, OSError):  # the broker is down: the notices wait in the outbox for the next sweep
        logger.warning("Notice delivery could not be queued; the outbox sweep will send it.")


def deliver_after_commit() -> None:
    """Ask a worker to deliver once the surrounding transaction commits (once per transaction)."""
    connection = transaction.get_connection()
    if any(entry[1] is _ask_for_delivery for entry in connection.run_on_commit):
        return
    transaction.on_commit(_ask_for_delivery)


def _link(name: str) -> str:
    return settings.PORTAL_URL + reverse(name)


def notice_text(notice: Notice) -> tuple[str, str]:
    """Subject and body: no names, no health details, no subject line of the thread; a link to sign in."""
    if notice.kind == NoticeKind.REFILL_UPDATE:
        # To the refills page: someone who helps with refills alone may not open the messages.
        return (
            _("A refill request was answered"),
            _("A refill request in the Family Health Portal was answered.\n\nSign in to see the answer: %(link)s")
            % {"link": _link("messaging:refills")},
        )
    if notice.kind == NoticeKind.NEW_MESSAGE:
        return (
            _("You have a new message"),
            _("You have a new message in the Family Health Portal.\n\nSign in to read it: %(link)s")
            % {"link": _link("messaging:inbox")},
        )
    if notice.kind == NoticeKind.REFILL_REMINDER:
        return (
            _("A medicine may run out soon"),
            _(
                "A medicine in the Family Health Portal may run out soon. Sign in to see which one and to ask for "
                "a refill: %(link)s"
            )
            % {"link": _link("messaging:refills")},
        )
    if notice.kind == NoticeKind.STAFF_DIGEST:
        return _staff_digest_text(notice)
    if notice.kind == NoticeKind.ESCALATION:
        return (
            _("A conversation is past its reply date"),
            _("A conversation in your team's inbox is past its reply date. Sign in to see it: %(link)s")
            % {"link": _link("staff_home")},
        )
    return (
        _("A conversation was given to you"),
        _("A conversation was given to you in the Family Health Portal. Sign in to see it: %(link)s")
        % {"link": _link("staff_home")},
    )


def _staff_digest_text(notice: Notice) -> tuple[str, str]:
    """The day's numbers for the inboxes the recipient works, read as the email leaves: counts and a link only."""
    from messaging.selectors import digest_organization_ids, inbox_counts_by_organization

    counts = inbox_counts_by_organization(digest_organization_ids(notice.recipient)).values()
    return (
        _("Your care team's inbox today"),
        _(
            "In the inboxes you work in the Family Health Portal:\n\n"
            "Waiting for a reply: %(waiting)s\n"
            "Past their reply date: %(overdue)s\n"
            "Refill requests waiting: %(refills)s\n\n"
            "Sign in to see them: %(link)s"
        )
        % {
            "waiting": sum(c.waiting for c in counts),
            "overdue": sum(c.overdue for c in counts),
            "refills": sum(c.refills for c in counts),
            "link": _link("staff_home"),
        },
    )


def deliver_pending(*, limit: int = 1000) -> int:
    """Send unsent notices, oldest first; returns how many were sent."""
    sent = 0
    while sent < limit:
        with transaction.atomic():
            batch = list(
                Notice.objects.select_for_update(skip_locked=True)
                .select_related("recipient")
                .filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
                .order_by("created_at", "pk")[: min(BATCH, limit - sent)]
            )
            if not batch:
                break
            for notice in batch:
                recipient = notice.recipient
                with translation.override(recipient.language or settings.LANGUAGE_CODE):
                    subject, body = notice_text(notice)
                try:
                    send_mail(
                        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
                        message=body,
                        from_email=None,
                        recipient_list=[recipient.email],
                    )
                except (SMTPException, OSError):
                    logger.warning("A notice could not be sent; it will be tried again.")
                    Notice.objects.filter(pk=notice.pk).update(attempts=notice.attempts + 1)
                    continue
                Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), attempts=notice.attempts + 1)
                sent += 1
        if len(batch) < BATCH:
            break
    return sent
