"""A patient invites a caregiver, who signs up, accepts, acts within the scopes, and is cut off on revocation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, sign_in_through_form
from tests.factories import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails with the reason
    expect = None

pytestmark = pytest.mark.e2e


def test_invite_accept_switch_and_revoke(
    new_page: Any, world: World, mailoutbox: list[Any], browser_problems: Any
) -> None:
    browser_problems.expect_status("/sharing/", 404)
    browser_problems.expect_status("/person/", 403)
    patient = new_page()
    patient.goto("/")
    sign_in_through_form(patient, "patient@example.test", TEST_PASSWORD)
    expect(patient).to_have_url(HOME_URL)
    patient.get_by_role("link", name="Sharing").click()
    expect(patient.get_by_role("heading", level=1)).to_contain_text("Who can see Alex Rivera's record")
    axe_check(patient)
    patient.get_by_role("link", name="Invite someone").click()
    axe_check(patient)
    patient.get_by_label("Their email address").fill("helper@example.test")
    patient.get_by_label("Who they are to you").fill("sister")
    for label in ("Messages", "Appointments", "Prescription refills", "Bills and payments"):
        patient.get_by_label(label).uncheck()
    patient.get_by_label("Health records").check()
    patient.get_by_role("button", name="Send the invitation").click()
    expect(patient.get_by_role("status")).to_contain_text("Invitation sent to helper@example.test")

    link = re.search(r"https?://\S+/invitations/\S+/", mailoutbox[-1].body).group(0)

    caregiver = new_page()
    caregiver.goto(link)
    expect(caregiver.get_by_role("heading", level=1)).to_contain_text("You are invited to help")
    axe_check(caregiver)
    caregiver.get_by_role("link", name="Create an account").click()
    caregiver.get_by_label("Your full name").fill("Hana Helper")
    caregiver.get_by_label("Email").fill("helper@example.test")
    caregiver.get_by_label("Password", exact=True).fill("lantern-harbour-quiet-42")
    caregiver.get_by_label("Password (again)").fill("lantern-harbour-quiet-42")
    caregiver.get_by_role("button", name="Create account").click()
    confirm = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group(0)
    caregiver.goto(confirm)
    caregiver.get_by_role("button", name="Confirm").click()
    sign_in_through_form(caregiver, "helper@example.test", "lantern-harbour-quiet-42")
    caregiver.goto(link)
    expect(caregiver.get_by_role("heading", level=1)).to_contain_text("Alex Rivera invited you to help with Alex")
    caregiver.get_by_role("button", name="Accept the invitation").click()
    expect(caregiver.get_by_text("You can now help with Alex's care")).to_be_visible()
    axe_check(caregiver)

    # Switch to Alex from the header; only the records section is offered.
    caregiver.get_by_label("Acting for").select_option(label="Alex Rivera")
    caregiver.get_by_role("button", name="Switch").click()
    banner = caregiver.get_by_role("region", name="Acting for someone else")
    expect(banner).to_contain_text("You are acting for Alex Rivera")
    axe_check(caregiver)
    nav = caregiver.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Record")).to_be_visible()
    expect(nav.get_by_role("link", name="Sharing")).to_have_count(0)
    nav.get_by_role("link", name="Record").click()
    expect(caregiver.get_by_role("heading", level=1, name="Alex Rivera")).to_be_visible()
    axe_check(caregiver)
    response = caregiver.goto("/sharing/")
    assert response is not None
    assert response.status == 404  # outside the scopes

    # The patient sees the caregiver, and ends the access.
    patient.goto("/sharing/")
    expect(patient.get_by_role("cell", name="Hana Helper sister")).to_be_visible()
    patient.get_by_role("link", name="Change or end Hana Helper").click()
    axe_check(patient)
    patient.get_by_label("Reason (optional)").fill("Not needed any more")
    patient.get_by_role("button", name="End access now").click()
    expect(patient.get_by_text("Access ended")).to_be_visible()

    # The caregiver's next page load is refused.
    response = caregiver.goto("/person/")
    assert response is not None
    assert response.status == 403
    expect(caregiver.get_by_role("heading", level=1, name="Access has ended")).to_be_visible()
    axe_check(caregiver)
    caregiver.goto("/")
    expect(caregiver.get_by_role("region", name="Acting for someone else")).to_have_count(0)
