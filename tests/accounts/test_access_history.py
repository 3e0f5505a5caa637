"""A patient reads who did what with their record, filters it, and downloads it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from tests.conftest import World, sign_in


def _history_rows(response: object) -> str:
    return response.content.decode()


def test_staff_viewing_the_roster_shows_in_the_patients_history(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert client.get(reverse("staff_roster", args=["riverside"])).status_code == 200
    client.logout()
    sign_in(client, world, "patient")
    html = _history_rows(client.get(reverse("access_history")))
    assert "Jordan Lee" in html
    assert "Care team viewed the patient list" in html
    assert "Care team" in html  # the basis


def test_history_shows_only_the_patients_own_record(client: Client, world: World) -> None:
    record_audit_event(action=AuditAction.RECORD_VIEWED, user=world.user("caregiver"), subject=world.caregiver_record)
    sign_in(client, world, "patient")
    response = client.get(reverse("access_history"))
    assert response.status_code == 200
    assert "Maria Lopez" not in response.content.decode()


def test_filter_by_date_and_action(client: Client, world: World) -> None:
    patient, record = world.user("patient"), world.patient_record
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=10), tick=False):
        record_audit_event(
            action=AuditAction.RECORD_VIEWED, user=world.user("staff_here"), subject=record, basis="staff"
        )
    record_audit_event(action=AuditAction.RECORD_VIEWED, user=world.user("org_admin"), subject=record, basis="staff")
    record_audit_event(action=AuditAction.LOGIN, user=patient, subject=record)
    sign_in(client, world, "patient")

    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    html = _history_rows(client.get(reverse("access_history"), {"since": since, "action": "record.viewed"}))
    assert "Sam Okafor" in html
    assert "Jordan Lee" not in html
    assert "Signed in" not in html.split("<tbody>")[1]

    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    html = _history_rows(client.get(reverse("access_history"), {"until": until}))
    assert "Jordan Lee" in html
    assert "Sam Okafor" not in html


def test_a_reversed_date_range_is_explained(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    html = _history_rows(client.get(reverse("access_history"), {"since": "2026-05-02", "until": "2026-05-01"}))
    assert "The start date is after the end date." in html
    bad = client.get(reverse("access_history"), {"since": "not-a-date"})
    assert bad.status_code == 200
    assert "Enter a valid date." in bad.content.decode()


def test_csv_download_follows_the_filters_and_is_audited(client: Client, world: World) -> None:
    record = world.patient_record
    record_audit_event(action=AuditAction.RECORD_VIEWED, user=world.user("staff_here"), subject=record, basis="staff")
    record_audit_event(action=AuditAction.LOGIN, user=world.user("patient"), subject=record)
    sign_in(client, world, "patient")
    response = client.get(reverse("access_history_csv"), {"action": "record.viewed"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["When", "Who", "Access type", "What happened", "IP address"]
    assert [r[1:4] for r in rows[1:]] == [["Jordan Lee", "Care team", "Viewed the record"]]
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_HISTORY_DOWNLOADED, subject_patient=record).count() == 1
    everything = client.get(reverse("access_history_csv"))
    text = b"".join(everything.streaming_content).decode()
    assert "Signed in" in text
    assert "Downloaded the access history" in text
    assert AuditEvent.objects.filter(action=AuditAction.ACCESS_HISTORY_DOWNLOADED, subject_patient=record).count() == 2


def test_history_page_has_a_fixed_number_of_queries(client: Client, world: World) -> None:
    from tests.query_counts import count_queries

    sign_in(client, world, "patient")
    url = reverse("access_history")
    before = count_queries(client, url)
    for n in range(60):
        record_audit_event(
            action=AuditAction.RECORD_VIEWED,
            user=world.user("staff_here"),
            subject=world.patient_record,
            detail={"n": n},
        )
    assert count_queries(client, url) == before
