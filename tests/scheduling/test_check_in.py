"""Pre-visit check-in: confirming what the clinic holds, and the visit's forms (PHQ-9, GAD-7) scored and stored
as FHIR QuestionnaireResponses the care team sees; closed once the visit starts."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import AuditEvent, Role
from scheduling.actions import book_appointment
from scheduling.models import CheckIn, FormResponse
from scheduling.questionnaires import GAD7, PHQ9, questionnaire, score
from tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db

NOT_AT_ALL, SEVERAL, MORE_THAN_HALF, NEARLY_EVERY = "LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"


@pytest.mark.parametrize(
    ("answers", "total", "severity"),
    [
        ([NOT_AT_ALL] * 9, 0, "minimal"),
        ([SEVERAL] * 4 + [NOT_AT_ALL] * 5, 4, "minimal"),
        ([SEVERAL] * 5 + [NOT_AT_ALL] * 4, 5, "mild"),
        ([MORE_THAN_HALF] * 5 + [NOT_AT_ALL] * 4, 10, "moderate"),
        ([NEARLY_EVERY] * 5 + [NOT_AT_ALL] * 4, 15, "moderately severe"),
        ([NEARLY_EVERY] * 7 + [NOT_AT_ALL] * 2, 21, "severe"),
        ([NEARLY_EVERY] * 9, 27, "severe"),
    ],
)
def test_phq9_scores_and_bands(answers: list[str], total: int, severity: str) -> None:
    result = score(PHQ9, {str(n + 1): code for n, code in enumerate(answers)})
    assert (result.total, str(result.severity)) == (total, severity)


def test_gad7_bands_and_the_phq9_ninth_item_flag() -> None:
    assert str(score(GAD7, {str(n): MORE_THAN_HALF for n in range(1, 8)}).severity) == "moderate"  # 14
    assert (
        str(score(GAD7, {str(n): NEARLY_EVERY for n in range(1, 6)} | {"6": NOT_AT_ALL, "7": NOT_AT_ALL}).severity)
        == "severe"
    )  # 15
    quiet = {str(n): NOT_AT_ALL for n in range(1, 10)}
    assert not score(PHQ9, quiet).flagged
    assert score(PHQ9, {**quiet, "9": SEVERAL}).flagged
    resource = questionnaire(PHQ9)
    assert resource["resourceType"] == "Questionnaire"
    assert [item["code"][0]["code"] for item in resource["item"]][:2] == ["44250-9", "44255-8"]


@pytest.fixture
def clinic() -> Clinic:
    visit_clinic = make_clinic()
    visit_clinic.checkup.forms = ["phq-9"]
    visit_clinic.checkup.save()
    return visit_clinic


def test_checking_in_and_filling_the_form_reach_the_desk(client: Client, clinic: Clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"))
        client.force_login(clinic.actor.user)
        page = client.get(reverse("scheduling:check_in", args=[visit.pk])).content.decode()
        assert "Mood questionnaire (PHQ-9)" in page
        assert "To fill" in page
        refused = client.post(reverse("scheduling:check_in", args=[visit.pk]), {"details_unchanged": "on"})
        assert refused.status_code == 400  # not everything confirmed, and nothing said of what changed
        assert not CheckIn.objects.exists()
        client.post(
            reverse("scheduling:check_in", args=[visit.pk]),
            {"details_unchanged": "on", "insurance_unchanged": "", "changes": "New insurance card from March"},
        )
        assert CheckIn.objects.get().changes == "New insurance card from March"
        form_url = reverse("scheduling:form", args=[visit.pk, "phq-9"])
        half = {f"item-{n}": MORE_THAN_HALF for n in range(1, 6)}
        missing = client.post(form_url, half)
        assert missing.status_code == 400
        assert "Answer every question" in missing.content.decode()
        assert f'value="{MORE_THAN_HALF}" checked' in missing.content.decode()  # what was chosen is kept
        answers = {**half, **{f"item-{n}": NOT_AT_ALL for n in range(6, 9)}, "item-9": SEVERAL}
        assert client.post(form_url, answers).status_code == 302
        response = FormResponse.objects.get()
        assert (response.total, response.severity, response.flagged) == (11, "moderate", True)
        assert response.response["resourceType"] == "QuestionnaireResponse"
        assert response.response["item"][-1]["answer"][0]["valueInteger"] == 11
        after = client.get(reverse("scheduling:check_in", args=[visit.pk])).content.decode()
        assert "Sent" in after
        # The score is for the care team. Read the page's words only: the visit's random id and the CSRF token
        # in its attributes may hold "11" by chance.
        assert not re.search(r"\b11\b", strip_tags(after))
        assert client.get(reverse("scheduling:form", args=[visit.pk, "gad-7"])).status_code == 404  # not this visit's
        # The desk sees the check-in and the score, flagged.
        desk = Client()
        nurse = UserFactory()
        MembershipFactory(user=nurse, organization=clinic.organization, role=Role.NURSE)
        device = TOTPDeviceFactory(user=nurse)
        desk.force_login(nurse)
        session = desk.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        schedule = desk.get(
            reverse("scheduling:staff_schedule", kwargs={"org_slug": clinic.organization.slug}), {"day": "2026-03-03"}
        ).content.decode()
    assert "Checked in" in schedule
    assert "Mood questionnaire (PHQ-9): 11 (moderate)" in schedule
    assert "Self-harm answer: see at once" in schedule
    assert AuditEvent.objects.filter(action="appointments.form_filled").count() == 1
    with time_machine.travel(chicago("2026-03-03T09:05"), tick=False):
        late_client = Client()  # signed in anew on the visit's day
        late_client.force_login(clinic.actor.user)
        late = late_client.post(reverse("scheduling:form", args=[visit.pk, "phq-9"]), answers)
    assert late.status_code == 400
    assert "Check-in is closed" in late.content.decode()
