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
