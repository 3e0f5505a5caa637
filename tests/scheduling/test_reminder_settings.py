"""The page where a person sets their mobile number and turns text reminders on or off: the number is stored in
one form, a bad one saves nothing, the page and the audit log never show it, and the reminder sweep uses it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from accounts.actions.text_reminders import normalised_phone, set_text_reminders
from accounts.models import AuditEvent, User
from accounts.sms import MemoryBackend
from scheduling.actions import book_appointment
from scheduling.models import SchedulingPolicy
from scheduling.reminders import deliver_reminders, queue_due_reminders
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db

PAGE = "scheduling:reminder_settings"
AUDITED = "account.text_reminders_changed"


@pytest.fixture
def clinic() -> Clinic:
    MemoryBackend.outbox.clear()
    return make_clinic()


@pytest.fixture
def person(clinic: Clinic) -> User:
    assert clinic.actor.user is not None
    return clinic.actor.user


@pytest.fixture
def signed_in(client: Client, person: User) -> Client:
    client.force_login(person)
    return client


def stored(person: User) -> tuple[str, bool]:
    person.refresh_from_db()
    return person.phone, person.reminders_by_text


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+1 555 010 0199", "+15550100199"),
        ("+1 (555) 010-0199", "+15550100199"),
        ("555.010.0199", "5550100199"),
        ("  +44 20 7946 0018 ", "+442079460018"),
        ("5550100", "5550100"),  # 7 digits, the fewest
        ("+123456789012345", "+123456789012345"),  # 15, the most
    ],
)
def test_a_number_keeps_its_digits_and_leading_plus(typed: str, kept: str) -> None:
    assert normalised_phone(typed) == kept


def test_saving_normalises_the_number_and_turns_texts_on(signed_in: Client, person: User) -> None:
    answer = signed_in.post(reverse(PAGE), {"phone": "+1 (555) 010-0199", "by_text": "on"})
    assert answer.status_code == 302
    assert answer["Location"] == reverse(PAGE)
    assert stored(person) == ("+15550100199", True)
    page = signed_in.get(reverse(PAGE)).content.decode()
    assert "Saved: reminders come by text to the number ending in 0199." in page


BAD_NUMBERS = [
    ("12345", "A mobile number has 7 to 15 digits"),  # too short
    ("555-CALL-NOW", "A phone number may hold only digits"),  # letters
    ("+1 555 010 0199 0199 0199", "A mobile number has 7 to 15 digits"),  # too long
    ("1+5550100199", "A phone number may hold only digits"),  # a + not at the start
    ("٥٥٥٠١٠٠١٩٩", "A phone number may hold only digits"),  # digits, but not the ones a provider dials
]


@pytest.mark.parametrize(("typed", "message"), BAD_NUMBERS)
def test_a_bad_number_gives_the_message_and_changes_nothing(
    signed_in: Client, person: User, typed: str, message: str
) -> None:
    User.objects.filter(pk=person.pk).update(phone="+15550142", reminders_by_text=False)
    answer = signed_in.post(reverse(PAGE), {"phone": typed, "by_text": "on"})
    assert answer.status_code == 200
    text = answer.content.decode()
    assert message in text
    assert f'value="{typed}"' in text  # what was typed, to correct it
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in text
    assert 'id="id_phone_error"' in text
    assert stored(person) == ("+15550142", False)
    assert not AuditEvent.objects.filter(action=AUDITED).exists()


@pytest.mark.parametrize(("typed", "message"), BAD_NUMBERS)
def test_the_action_refuses_a_bad_number_itself(person: User, typed: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        set_text_reminders(user=person, phone=typed, by_text=True)
    assert stored(person) == ("", False)
    assert not AuditEvent.objects.filter(action=AUDITED).exists()


def test_turning_texts_on_without_a_number_is_refused(signed_in: Client, person: User) -> None:
    answer = signed_in.post(reverse(PAGE), {"phone": "", "by_text": "on"})
    assert answer.status_code == 200
    assert "Enter a mobile number to get reminders by text message." in answer.content.decode()
    assert stored(person) == ("", False)
    assert not AuditEvent.objects.filter(action=AUDITED).exists()
    with pytest.raises(ValidationError):
        set_text_reminders(user=person, phone="", by_text=True)
    assert stored(person) == ("", False)


def test_an_empty_box_keeps_the_number_on_file(signed_in: Client, person: User) -> None:
    """The page never shows the number, so an empty box means "no change", not "remove"."""
    User.objects.filter(pk=person.pk).update(phone="+15550100199", reminders_by_text=False)
    assert signed_in.post(reverse(PAGE), {"phone": "", "by_text": "on"}).status_code == 302
    assert stored(person) == ("+15550100199", True)
    assert signed_in.post(reverse(PAGE), {"phone": ""}).status_code == 302
    assert stored(person) == ("+15550100199", False)


def test_clearing_the_number_turns_texts_off(signed_in: Client, person: User) -> None:
    User.objects.filter(pk=person.pk).update(phone="+15550100199", reminders_by_text=True)
    answer = signed_in.post(reverse(PAGE), {"remove": "1", "by_text": "on"})
    assert answer.status_code == 302
    assert stored(person) == ("", False)
    assert "Text reminders are off." in signed_in.get(reverse(PAGE)).content.decode()
    User.objects.filter(pk=person.pk).update(phone="+15550100199", reminders_by_text=True)
    set_text_reminders(user=person, phone="", by_text=False)
    assert stored(person) == ("", False)


def test_the_audit_row_says_what_changed_but_not_the_number(signed_in: Client, person: User) -> None:
    signed_in.post(reverse(PAGE), {"phone": "+1 555 010 0199", "by_text": "on"})
    signed_in.post(reverse(PAGE), {"remove": "1"})
    added, removed = AuditEvent.objects.filter(action=AUDITED).order_by("pk")
    assert (added.actor_user, added.detail) == (person, {"by_text": True, "number": "added"})
    assert removed.detail == {"by_text": False, "number": "removed"}
    for event in (added, removed):
        assert "0100199" not in repr(model_to_dict(event))


def test_the_page_never_shows_the_full_number(signed_in: Client, person: User) -> None:
    blank = signed_in.get(reverse(PAGE))
    assert blank.status_code == 200
    assert "Text reminders are off." in blank.content.decode()
    assert "never what it is for" in blank.content.decode()
    after_saving = signed_in.post(reverse(PAGE), {"phone": "+1 555 010 0199", "by_text": "on"}, follow=True)
    for page in (after_saving, signed_in.get(reverse(PAGE))):
        text = page.content.decode()
        assert "ends in 0199" in text
        assert "Text reminders are on, to the number ending in 0199." in text
        for shown in ("5550100199", "555 010 0199", "010-0199", "0100199"):
            assert shown not in text
    appointments = signed_in.get(reverse("scheduling:appointments")).content.decode()
    assert reverse(PAGE) in appointments


def test_a_reminder_sweep_afterwards_texts_the_saved_number(signed_in: Client, clinic: Clinic, person: User) -> None:
    SchedulingPolicy.objects.filter(organization=clinic.organization).update(reminder_offsets_minutes=[60 * 24])
    book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-12T09:00"), now=NOW)
    signed_in.post(reverse(PAGE), {"phone": "+1 555 010 0199", "by_text": "on"})
    at = chicago("2026-03-11T09:00")
    queue_due_reminders(now=at)
    assert deliver_reminders(now=at) == 2  # the email and the text
    (text,) = MemoryBackend.outbox
    assert text.to == "+15550100199"
    assert "Riverside Family Clinic" in text.body
    assert "Cough" not in text.body
