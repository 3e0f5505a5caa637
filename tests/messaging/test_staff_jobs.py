"""The staff side's background jobs: escalation to the pool's lead, the daily digest; and the reply templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Role
from messaging import actions, tasks
from messaging.models import Notice, NoticeKind, Pool, QuickReply, Thread, ThreadStatus
from messaging.notices import deliver_pending
from tests.conftest import World, sign_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


# Escalation ---------------------------------------------------------------------------------------------


def test_an_overdue_thread_goes_to_the_lead_once(world: World) -> None:
    thread = world.threads["alex"]
    Thread.objects.exclude(pk=thread.pk).update(reply_due_at=thread.reply_due_at + timedelta(days=30))
    lead = world.user("org_admin")
    later = thread.reply_due_at + timedelta(hours=1)
    assert actions.escalate_overdue(now=thread.reply_due_at - timedelta(minutes=1)) == 0
    with time_machine.travel(later, tick=False):
        assert tasks.escalate_overdue_threads() >= 1
        assert deliver_pending() >= 1
    notices = Notice.objects.filter(kind=NoticeKind.ESCALATION, thread=thread)
    assert [n.recipient for n in notices] == [lead]
    to_lead = [m for m in mail.outbox if m.to == [lead.email]]
    assert len(to_lead) == 1
    assert "past its reply date" in to_lead[0].body
    assert "Question about my dose" not in to_lead[0].body
    assert "Alex" not in to_lead[0].body
    assert AuditEvent.objects.filter(action=AuditAction.MESSAGE_THREAD_ESCALATED, object_id=str(thread.pk)).count() == 1
    # The next runs, that day and the day after: nothing again.
    with time_machine.travel(later + timedelta(minutes=15), tick=False):
        assert actions.escalate_overdue() == 0
    with time_machine.travel(later + timedelta(days=1), tick=False):
        assert actions.escalate_overdue() == 0
        deliver_pending()
    assert Notice.objects.filter(kind=NoticeKind.ESCALATION, thread=thread).count() == 1
    assert len([m for m in mail.outbox if m.to == [lead.email]]) == 1


def test_a_new_question_after_a_reply_can_escalate_again(world: World) -> None:
    thread = world.threads["alex"]
    moment = thread.reply_due_at + timedelta(hours=1)
    actions.escalate_overdue(now=moment)
    Thread.objects.filter(pk=thread.pk).update(
        status=ThreadStatus.WAITING_ON_STAFF, escalated_at=None, reply_due_at=moment + timedelta(days=1)
    )
    assert actions.escalate_overdue(now=moment + timedelta(days=2)) >= 1
    assert Notice.objects.filter(kind=NoticeKind.ESCALATION, thread=thread).count() == 2


def test_a_pool_without_a_lead_escalates_without_email(world: World) -> None:
    Pool.objects.filter(pk=world.pools["here"].pk).update(lead=None)
    thread = world.threads["alex"]
    assert actions.escalate_overdue(now=thread.reply_due_at + timedelta(hours=1)) >= 1
    assert not Notice.objects.filter(kind=NoticeKind.ESCALATION, thread=thread).exists()
    assert Thread.objects.get(pk=thread.pk).escalated_at is not None


# The daily digest ---------------------------------------------------------------------------------------


def test_the_digest_goes_once_a_day_with_counts_only(world: World) -> None:
    Thread.objects.filter(pk=world.threads["alex"].pk).update(reply_due_at=timezone.now() - timedelta(hours=1))
    front = UserFactory(email="front@example.test")
    MembershipFactory(user=front, organization=world.org_here, role=Role.FRONT_DESK)
    billing = UserFactory(email="billing@example.test")
    MembershipFactory(user=billing, organization=world.org_here, role=Role.BILLING)
    first = tasks.send_staff_digest()
    assert first > 0
    assert tasks.send_staff_digest() == 0  # the same day: nothing new
    deliver_pending()
    tasks.send_staff_digest()
    deliver_pending()
    digests = {m.to[0]: m for m in mail.outbox if "inbox today" in m.subject}
    # Riverside's inbox roles and pool members; Lakeside's too (its threads wait); never billing.
    assert {"nurse.here@example.test", "admin.here@example.test", "front@example.test"} <= set(digests)
    assert "nurse.other@example.test" in digests
    assert "billing@example.test" not in digests
    assert len([m for m in mail.outbox if m.to == ["nurse.here@example.test"]]) == 1
    body = digests["nurse.here@example.test"].body
    assert "Waiting for a reply: 3" in body
    assert "Past their reply date: 1" in body
    assert "Refill requests waiting: 1" in body
    assert reverse("staff_home") in body
    for detail in ("Swollen ankles", "Question about my dose", "Rosa", "Alex", "Metformin"):
        assert detail not in body


def test_the_next_day_brings_a_new_digest(world: World) -> None:
    tasks.send_staff_digest()
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        assert tasks.send_staff_digest() > 0
    per_day = Notice.objects.filter(kind=NoticeKind.STAFF_DIGEST, recipient=world.user("staff_here"))
    assert per_day.count() == 2


def test_nobody_is_emailed_about_an_empty_inbox(world: World) -> None:
    Thread.objects.update(status=ThreadStatus.CLOSED)
    from messaging.models import RefillRequest, RefillStatus

    RefillRequest.objects.update(status=RefillStatus.APPROVED)
    assert tasks.send_staff_digest() == 0


def test_the_digest_is_scheduled(settings: object) -> None:
    from portal.celery import app

    app.loader.import_default_modules()
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "messaging.send_staff_digest" in schedule or _scheduled_by_signal(app)


def _scheduled_by_signal(app: object) -> bool:
    from celery import Celery

    assert isinstance(app, Celery)
    app.finalize()
    return any(entry["task"] == "messaging.send_staff_digest" for entry in app.conf.beat_schedule.values())


# Reply templates ----------------------------------------------------------------------------------------


def quick_url(name: str = "messaging:quick_replies", **kwargs: object) -> str:
    return reverse(name, kwargs={"org_slug": "riverside", **kwargs})


def test_admins_keep_the_templates(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    assert client.get(quick_url()).status_code == 200
    response = client.post(quick_url(), {"title": "Lab follow-up", "body": "Your lab is fine."})
    assert response.status_code == 302
    template = QuickReply.objects.get(organization=world.org_here)
    assert client.post(quick_url(), {"title": "Lab follow-up", "body": "Again"}).status_code == 400
    edit = quick_url("messaging:quick_reply_edit", quick_reply_id=template.pk)
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"title": "Lab results", "body": "All fine."}).status_code == 302
    template.refresh_from_db()
    assert (template.title, template.body) == ("Lab results", "All fine.")
    assert client.post(quick_url("messaging:quick_reply_delete", quick_reply_id=template.pk)).status_code == 302
    assert not QuickReply.objects.exists()
    changes = AuditEvent.objects.filter(action=AuditAction.QUICK_REPLY_CHANGED).order_by("pk")
    assert [e.detail["change"] for e in changes] == ["created", "changed", "deleted"]


def test_nurses_and_other_admins_may_not_change_templates(client: Client, world: World) -> None:
    template = QuickReply.objects.create(organization=world.org_here, title="T", body="B")
    for persona in ("staff_here", "admin_other"):
        sign_in(client, world, persona)
        assert client.get(quick_url()).status_code == 404
        edit = quick_url("messaging:quick_reply_edit", quick_reply_id=template.pk)
        assert client.post(edit, {"title": "X", "body": "Y"}).status_code == 404
        assert client.post(quick_url("messaging:quick_reply_delete", quick_reply_id=template.pk)).status_code == 404
    template.refresh_from_db()
    assert (template.title, template.body) == ("T", "B")
    # Lakeside's admin at Lakeside's desk does not reach Riverside's template either.
    lakeside = reverse("messaging:quick_reply_edit", kwargs={"org_slug": "lakeside", "quick_reply_id": template.pk})
    assert client.get(lakeside).status_code == 404
