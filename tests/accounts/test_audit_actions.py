"""The audit vocabulary is closed: only AuditAction members are written, and each reads as words."""

from __future__ import annotations

import pytest
from django.utils import translation

from accounts.actions.audit import UnknownAuditActionError, record_audit_event
from accounts.audit_labels import AuditAction, action_label
from accounts.models import AuditEvent


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["records.connected", "anything.else", ""])
def test_a_plain_string_is_refused_and_nothing_is_written(action: str) -> None:
    with pytest.raises(UnknownAuditActionError):
        record_audit_event(action=action)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_member_is_stored_as_its_code() -> None:
    event = record_audit_event(action=AuditAction.RECORDS_CONNECTED)
    assert AuditEvent.objects.get(pk=event.pk).action == "records.connected"


@pytest.mark.parametrize("action", list(AuditAction))
def test_every_action_reads_as_words_not_a_code(action: AuditAction) -> None:
    for language in ("en", "es"):
        with translation.override(language):
            label = action_label(action.value)
        assert label, f"{action.value} in {language} has no label"
        assert "." not in label.rstrip("."), f"{action.value} in {language}: {label!r}"


def test_an_unknown_stored_code_is_never_shown_raw() -> None:
    assert action_label("legacy.thing") != "legacy.thing"


@pytest.mark.django_db
def test_a_list_pages_rows_are_written_whole_and_seal_into_the_chain() -> None:
    """record_audit_events writes a list page's rows in one statement (on Postgres, from arrays): each row has
    the reader, the subject, the object and the request's origin, like a single event, and seals like one."""
    from django.test import RequestFactory

    from accounts.actions.audit import record_audit_events, seal_pending_events
    from accounts.actors import Actor
    from accounts.models import Patient
    from accounts.models.audit import Basis
    from accounts.selectors import verify_audit_chain
    from tests.factories import PatientFactory, UserFactory

    reader = UserFactory(full_name="Jordan Reyes")
    rosa: Patient = PatientFactory()
    alex: Patient = PatientFactory()
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Browser/1.0")
    record_audit_events(
        action=AuditAction.MESSAGE_INBOX_VIEWED,
        actor=Actor(user=reader, basis=Basis.STAFF),
        request=request,
        rows=[(rosa, "thread", 7), (alex, "thread", "8"), (None, "pool", 3)],
    )
    rows = list(AuditEvent.objects.order_by("id"))
    assert [(e.subject_patient_id, e.object_type, e.object_id) for e in rows] == [
        (rosa.pk, "thread", "7"),
        (alex.pk, "thread", "8"),
        (None, "pool", "3"),
    ]
    for event in rows:
        assert (event.actor_user_id, event.actor_name, event.action) == (
            reader.pk,
            "Jordan Reyes",
            "messages.inbox_viewed",
        )
        assert (event.ip, event.user_agent, event.detail) == ("203.0.113.9", "Browser/1.0", {})
        assert event.occurred_at is not None
        assert event.basis == Basis.STAFF
    assert seal_pending_events() == 3
    assert verify_audit_chain().intact
