"""The journal: symptoms, side effects, questions for the next visit and notes, written by the person or a caregiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Scope
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, User
from accounts.models.audit import Basis
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import GrantStatus, ProxyGrant
from records.models import EntryKind, FhirResource, JournalEntry, QuestionState
from tests.conftest import World, sign_in
from tests.factories import UserFactory

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def days_ago(days: int) -> str:
    """A day in the past wherever the reader is (their time zone decides what "today" is)."""
    return (timezone.now() - timedelta(days=days)).date().isoformat()


def add(client: Client, world: World, *, subject: str = "rosa", **fields: str) -> object:
    patient = world.people.get(subject, world.patient_record)
    body = {"kind": "symptom", "text": "Dizzy after lunch", "happened_on": days_ago(1), "subject": str(patient.pk)}
    return client.post(reverse("records:journal"), {**body, **fields})


def entry(world: World, *, author: str = "caregiver_full", patient: str = "rosa", **fields: object) -> JournalEntry:
    values: dict[str, object] = {
        "kind": EntryKind.SYMPTOM,
        "text": "Tired all day",
        "happened_on": timezone.localdate(),
    }
    values.update(fields)
    user = world.user(author)
    return JournalEntry.objects.create(
        patient=world.people.get(patient, world.patient_record),
        author=user,
        author_name=user.full_name or user.email,
        **values,
    )


def helper_for_alex(client: Client, world: World, scopes: list[str]) -> User:
    """Someone Alex let see his record, signed in on `client` and acting for him."""
    helper: User = UserFactory(full_name="Helen Helper")
    ProxyGrant.objects.create(
        grantee=helper,
        patient=world.patient_record,
        legal_basis=Basis.PATIENT_CONSENT,
        scopes=scopes,
        status=GrantStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(days=1),
    )
    client.force_login(helper)
    session = client.session
    session[ACTING_FOR_KEY] = str(world.patient_record.pk)
    session.save()
    return helper


# Adding ------------------------------------------------------------------------------------------------


def test_a_caregiver_writes_an_entry_and_it_reads_written_by_them(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    world.user("caregiver_full").full_name = "Maria Lopez"
    world.user("caregiver_full").save()
    response = add(client, world, kind="side_effect", text="Nausea after the new pill")
    assert response.status_code == 302
    saved = JournalEntry.objects.get()
    assert (saved.patient, saved.kind, saved.author) == (
        world.people["rosa"],
        "side_effect",
        world.user("caregiver_full"),
    )
    assert not FhirResource.objects.exists()  # never stored among the health systems' records
    html = client.get(reverse("records:journal")).content.decode()
    assert "Nausea after the new pill" in html
    assert "Written by Maria Lopez" in html
    audit = AuditEvent.objects.get(action=AuditAction.RECORDS_JOURNAL_ENTRY_ADDED)
    assert (audit.subject_patient_id, audit.object_id) == (world.people["rosa"].pk, str(saved.pk))
    assert "Nausea" not in str(audit.detail)


def test_the_day_defaults_to_today(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    html = client.get(reverse("records:journal")).content.decode()
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in html or 'type="date"' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "Write something first."),
        ({"text": "x" * 2001}, "Keep it to 2000 characters or fewer (this has 2001)."),
        ({"happened_on": (timezone.now() + timedelta(days=3)).date().isoformat()}, "The day cannot be in the future."),
        ({"happened_on": "someday"}, "Enter a day, for example 2026-03-14."),
        ({"kind": "diagnosis"}, "Choose what kind of entry this is."),
    ],
)
def test_bad_input_says_what_to_fix_and_keeps_what_was_typed(
    client: Client, world: World, fields: dict[str, str], message: str
) -> None:
    sign_in(client, world, "caregiver_full")
    typed = {"text": "My knees hurt when I climb the stairs", **fields}
    response = add(client, world, **typed)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if typed["text"]:
        assert typed["text"][:50] in html  # the form comes back filled
    assert not JournalEntry.objects.exists()


def test_a_form_shown_for_someone_else_is_refused_and_kept(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")  # acting for Rosa; the form was shown while acting for Alex
    response = add(client, world, subject="alex", text="Meant for another record")
    assert response.status_code == 200
    html = response.content.decode()
    assert "You switched to another person" in html
    assert "Meant for another record" in html
    assert not JournalEntry.objects.exists()


# The list ----------------------------------------------------------------------------------------------


def test_questions_for_the_next_visit_come_first_then_the_newest(client: Client, world: World) -> None:
    entry(world, text="Old question", kind=EntryKind.QUESTION, happened_on=timezone.localdate() - timedelta(days=20))
    entry(world, text="Asked question", kind=EntryKind.QUESTION, question_state=QuestionState.ASKED)
    entry(world, text="Symptom of yesterday", happened_on=timezone.localdate() - timedelta(days=1))
    entry(world, text="Note of today", kind=EntryKind.NOTE)
    sign_in(client, world, "caregiver_records")
    html = client.get(reverse("records:journal")).content.decode()
    order = [html.index(text) for text in ("Old question", "Note of today", "Symptom of yesterday")]
    assert order == sorted(order)
    assert html.index("Asked question") > html.index("Old question")
    filtered = client.get(reverse("records:journal"), {"kind": "question"}).content.decode()
    assert "Old question" in filtered
    assert "Note of today" not in filtered
    everything = client.get(reverse("records:journal"), {"kind": "<junk>"}).content.decode()
    assert "Note of today" in everything


def test_the_list_is_paged(client: Client, world: World) -> None:
    for n in range(30):
        entry(world, text=f"Entry number {n:02d}")
    sign_in(client, world, "caregiver_full")
    first = client.get(reverse("records:journal")).content.decode()
    second = client.get(reverse("records:journal"), {"page": "2"}).content.decode()
    assert "Entry number 29" in first
    assert "Entry number 29" not in second
    assert "Page 1 of 2" in first


def test_reads_by_anyone_but_the_patient_are_audited(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.get(reverse("records:journal"))
    client.get(reverse("records:journal_print"))
    assert not AuditEvent.objects.filter(action__startswith="records.journal").exists()
    client.logout()
    sign_in(client, world, "caregiver_records")
    client.get(reverse("records:journal"))
    client.get(reverse("records:journal_print"))
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.RECORDS_JOURNAL_VIEWED, AuditAction.RECORDS_JOURNAL_PRINT_VIEWED} <= actions


# Who may do what ---------------------------------------------------------------------------------------


def test_a_caregiver_without_the_records_scope_is_refused(client: Client, world: World) -> None:
    written = entry(world)
    sign_in(client, world, "caregiver_manager")  # Rosa's "manage who has access" only
    for name, args in (
        ("records:journal", []),
        ("records:journal_print", []),
        ("records:journal_edit", [written.pk]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404
    assert add(client, world).status_code == 404
    assert client.post(reverse("records:journal_delete", args=[written.pk])).status_code == 404
    assert JournalEntry.objects.get().text == "Tired all day"
    assert JournalEntry.objects.count() == 1


def test_a_grantee_may_read_but_not_change_the_patients_entry(client: Client, world: World) -> None:
    own = entry(world, author="patient", patient="alex", text="Written by Alex himself", kind=EntryKind.QUESTION)
    helper_for_alex(client, world, [Scope.RECORDS])
    html = client.get(reverse("records:journal")).content.decode()
    assert "Written by Alex himself" in html
    assert reverse("records:journal_edit", args=[own.pk]) not in html  # no button offered
    edit = reverse("records:journal_edit", args=[own.pk])
    assert client.get(edit).status_code == 403
    body = {"kind": "note", "text": "Rewritten", "happened_on": days_ago(1)}
    assert client.post(edit, body).status_code == 403
    assert client.post(reverse("records:journal_delete", args=[own.pk])).status_code == 403
    assert client.post(reverse("records:journal_question", args=[own.pk]), {"state": "asked"}).status_code == 403
    own.refresh_from_db()
    assert (own.text, own.kind, own.question_state, own.edited_at) == (
        "Written by Alex himself",
        EntryKind.QUESTION,
        QuestionState.OPEN,
        None,
    )
    assert not AuditEvent.objects.filter(action=AuditAction.RECORDS_JOURNAL_ENTRY_CHANGED).exists()


def test_the_patient_may_change_and_delete_what_a_caregiver_wrote(client: Client, world: World) -> None:
    helper_client = Client()
    helper = helper_for_alex(helper_client, world, [Scope.RECORDS])
    response = helper_client.post(
        reverse("records:journal"),
        {
            "kind": "question",
            "text": "Ask about the dose",
            "happened_on": days_ago(1),
            "subject": world.patient_record.pk,
        },
    )
    assert response.status_code == 302
    written = JournalEntry.objects.get()
    assert written.author == helper
    sign_in(client, world, "patient")
    assert "Written by Helen Helper" in client.get(reverse("records:journal")).content.decode()
    edit = reverse("records:journal_edit", args=[written.pk])
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "kind": "question",
            "text": "Ask about the dose at night",
            "happened_on": days_ago(1),
            "question_state": "answered",
        },
    )
    assert response.status_code == 302
    written.refresh_from_db()
    assert (written.text, written.question_state, written.author) == ("Ask about the dose at night", "answered", helper)
    assert written.edited_at is not None
    assert client.post(reverse("records:journal_delete", args=[written.pk])).status_code == 302
    assert not JournalEntry.objects.exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.RECORDS_JOURNAL_ENTRY_DELETED, object_id=str(written.pk)
    ).exists()


def test_the_author_marks_a_question_asked(client: Client, world: World) -> None:
    question = entry(world, kind=EntryKind.QUESTION, text="Can I stop the statin?")
    symptom = entry(world, text="Headache")
    sign_in(client, world, "caregiver_full")
    assert client.post(reverse("records:journal_question", args=[question.pk]), {"state": "asked"}).status_code == 302
    question.refresh_from_db()
    assert question.question_state == QuestionState.ASKED
    client.post(reverse("records:journal_question", args=[symptom.pk]), {"state": "asked"})
    symptom.refresh_from_db()
    assert symptom.question_state == QuestionState.OPEN
    assert symptom.edited_at is None


def test_someone_elses_entry_is_not_found(client: Client, world: World) -> None:
    rosas = entry(world)
    sign_in(client, world, "patient")  # Alex: Rosa's journal is not his
    assert client.get(reverse("records:journal_edit", args=[rosas.pk])).status_code == 404
    assert client.post(reverse("records:journal_delete", args=[rosas.pk])).status_code == 404
    assert client.get("/records/journal/99999999999999999999/edit/").status_code == 404
    assert JournalEntry.objects.filter(pk=rosas.pk).exists()


# What the pages show -----------------------------------------------------------------------------------


def test_a_hostile_entry_renders_inert(client: Client, world: World) -> None:
    entry(world, text=HOSTILE, kind=EntryKind.QUESTION)
    entry(world, text=HOSTILE, kind=EntryKind.SYMPTOM)
    world.user("caregiver_full").full_name = HOSTILE
    world.user("caregiver_full").save()
    sign_in(client, world, "caregiver_records")
    for name in ("records:journal", "records:journal_print", "records:summary"):
        html = client.get(reverse(name)).content.decode()
        assert "<script>window.__pwned" not in html, name
        assert "<img src=x" not in html, name
        assert "&lt;script&gt;" in html, name


def test_the_printable_page_lists_questions_then_recent_symptoms_and_side_effects(client: Client, world: World) -> None:
    today = timezone.localdate()
    entry(world, kind=EntryKind.QUESTION, text="Should I change the insulin?")
    entry(world, kind=EntryKind.QUESTION, text="Already answered", question_state=QuestionState.ANSWERED)
    entry(world, kind=EntryKind.SIDE_EFFECT, text="Cough since the new pill", happened_on=today - timedelta(days=3))
    entry(world, kind=EntryKind.SYMPTOM, text="Dizzy in the morning", happened_on=today - timedelta(days=10))
    entry(world, kind=EntryKind.SYMPTOM, text="Long ago", happened_on=today - timedelta(days=90))
    entry(world, kind=EntryKind.NOTE, text="Bought a new meter")
    sign_in(client, world, "caregiver_full")
    html = client.get(reverse("records:journal_print")).content.decode()
    assert html.index("Should I change the insulin?") < html.index("Cough since the new pill")
    assert html.index("Cough since the new pill") < html.index("Dizzy in the morning")
    for left_out in ("Already answered", "Long ago", "Bought a new meter"):
        assert left_out not in html
    assert "data-print" in html
    assert "/static/js/print.js" in html
    assert "<script>" not in html.split("</head>")[1]  # no inline script in the page itself
    assert "Print command" in html  # works without the script too


def test_the_summary_shows_open_questions(client: Client, world: World) -> None:
    entry(world, kind=EntryKind.QUESTION, text="Ask about the flu shot")
    entry(world, kind=EntryKind.QUESTION, text="Answered already", question_state=QuestionState.ANSWERED)
    sign_in(client, world, "caregiver_full")
    html = client.get(reverse("records:summary")).content.decode()
    assert "Your journal" in html
    assert "Ask about the flu shot" in html
    assert "Answered already" not in html
    assert reverse("records:journal") in html
