"""Both sides of a conversation in a real browser: a patient writes with a file, the nurse takes it and
replies, the patient is emailed (no health details) and reads the reply; every page axe-core clean."""

from __future__ import annotations

import re
from typing import Any

import pytest

from messaging.notices import deliver_pending
from tests.conftest import SMALL_PDF, World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import (
    HOME_URL,
    assert_no_horizontal_scrolling,
    enter_second_factor,
    fresh_totp_code,
    sign_in_through_form,
)
from tests.factories import TEST_PASSWORD, TOTP_KEY_HEX

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e

SUBJECT = "Blood sugar after the new dose"


def sign_in_as_staff(page: Any, email: str, next_path: str) -> None:
    page.goto(next_path)
    sign_in_through_form(page, email, TEST_PASSWORD)
    enter_second_factor(page, fresh_totp_code(bytes.fromhex(TOTP_KEY_HEX)))


def test_patient_writes_nurse_replies_patient_reads(
    new_page: Any, world: World, mailoutbox: list[Any], tmp_path: Any
) -> None:
    meter = tmp_path / "meter-readings.pdf"
    meter.write_bytes(SMALL_PDF)

    patient = new_page()
    patient.goto("/accounts/login/")
    sign_in_through_form(patient, "patient@example.test", TEST_PASSWORD)
    expect(patient).to_have_url(HOME_URL)
    patient.get_by_role("link", name="Messages").first.click()
    patient.get_by_role("link", name="Write a new message").click()
    axe_check(patient)
    patient.get_by_label("Diabetes care team").check()
    patient.get_by_label("What it is about").select_option("care")
    patient.get_by_label("Subject").fill(SUBJECT)
    patient.get_by_label("Message").fill("My readings are attached. Should I change anything?")
    patient.get_by_label("Files (optional)").set_input_files(str(meter))
    patient.get_by_role("button", name="Send").click()
    expect(patient.get_by_text("Your message was sent to Diabetes care team.")).to_be_visible()
    expect(patient.get_by_role("link", name="meter-readings.pdf")).to_be_visible()
    axe_check(patient)

    nurse = new_page()
    sign_in_as_staff(nurse, "nurse.here@example.test", "/staff/riverside/inbox/")
    expect(nurse.get_by_role("heading", level=1)).to_contain_text("Inbox")
    axe_check(nurse)
    nurse.get_by_role("link", name=SUBJECT).click()
    expect(nurse.get_by_text("My readings are attached.")).to_be_visible()
    expect(nurse.get_by_role("link", name="meter-readings.pdf")).to_be_visible()
    axe_check(nurse)
    nurse.get_by_role("button", name="Take this conversation").click()
    expect(nurse.get_by_text("Jordan Lee took this conversation.")).to_be_visible()
    nurse.get_by_label("Your reply").fill("Thank you. Keep the dose as it is and measure again on Friday.")
    nurse.get_by_role("button", name="Send the reply").click()
    expect(nurse.get_by_text("Keep the dose as it is")).to_be_visible()
    axe_check(nurse)

    mailoutbox.clear()
    assert deliver_pending() == 1
    (email,) = mailoutbox
    assert email.to == ["patient@example.test"]
    assert "dose" not in email.body.lower()
    assert SUBJECT not in email.body
    link = re.search(r"https?://\S+(/messages/)", email.body)
    assert link is not None

    patient.goto(link.group(1))
    row = patient.get_by_role("listitem").filter(has_text=SUBJECT)
    expect(row).to_contain_text("New reply")
    axe_check(patient)
    row.get_by_role("link", name=SUBJECT).click()
    expect(patient.get_by_text("Keep the dose as it is and measure again on Friday.")).to_be_visible()
    axe_check(patient)
    patient.goto(link.group(1))
    expect(patient.get_by_role("listitem").filter(has_text=SUBJECT)).not_to_contain_text("New reply")


def test_nurse_approves_a_refill_and_the_caregiver_sees_it(new_page: Any, world: World) -> None:
    """Rosa's refill request (asked by her daughter) waits at Riverside; the nurse approves it from the queue."""
    nurse = new_page()
    sign_in_as_staff(nurse, "nurse.here@example.test", "/staff/riverside/refills/")
    expect(nurse.get_by_role("heading", level=1)).to_contain_text("Refill requests at Riverside Family Clinic")
    axe_check(nurse)
    request = nurse.locator("li.card").filter(has_text="Metformin 500 mg tablet")
    request.get_by_label("Approve").check()
    request.get_by_label("Quantity").fill("30")
    request.get_by_label("Refills").fill("2")
    request.get_by_role("button", name="Decide").click()
    expect(nurse.get_by_role("status")).to_be_visible()
    axe_check(nurse)

    caregiver = new_page()
    caregiver.goto("/accounts/login/")
    sign_in_through_form(caregiver, "caregiver.full@example.test", TEST_PASSWORD)
    caregiver.get_by_label("Acting for").select_option(label="Rosa Lopez")
    caregiver.get_by_role("button", name="Switch").click()
    caregiver.goto("/refills/")
    expect(caregiver.get_by_role("heading", level=1)).to_contain_text("Refills for Rosa Lopez")
    requests = caregiver.get_by_role("listitem").filter(has_text="Metformin 500 mg tablet")
    expect(requests.first).to_contain_text("Approved")
    expect(requests.first).to_contain_text("30")
    axe_check(caregiver)


PHONE = {"width": 390, "height": 844}


def test_refills_and_the_staff_pages_fit_a_phone(new_page: Any, world: World) -> None:
    """The pages not covered by the phone test of the patient's messages: refills, the inbox, a thread, the queue."""
    caregiver = new_page(viewport=PHONE)
    caregiver.goto("/accounts/login/")
    sign_in_through_form(caregiver, "caregiver.full@example.test", TEST_PASSWORD)
    caregiver.get_by_label("Acting for").select_option(label="Rosa Lopez")
    caregiver.get_by_role("button", name="Switch").click()
    for path in ("/refills/", "/messages/", f"/messages/{world.threads['rosa'].pk}/"):
        caregiver.goto(path)
        assert_no_horizontal_scrolling(caregiver, PHONE["width"])
        axe_check(caregiver)

    nurse = new_page(viewport=PHONE)
    sign_in_as_staff(nurse, "nurse.here@example.test", "/staff/riverside/inbox/")
    for path in (
        "/staff/riverside/inbox/",
        f"/staff/riverside/inbox/{world.threads['rosa'].pk}/",
        "/staff/riverside/refills/",
        "/staff/",
    ):
        nurse.goto(path)
        assert_no_horizontal_scrolling(nurse, PHONE["width"])
        axe_check(nurse)
