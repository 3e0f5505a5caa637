"""Appointments on a 390 px phone: a patient finds the soonest free times, books one with a reason, moves it,
checks in and fills the visit's form, then cancels it; every page axe-core clean, without sideways scrolling,
and no script from hostile words runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from scheduling.models import Appointment, AppointmentStatus, AvailabilityException
from tests.conftest import World
from tests.e2e.test_account_journeys import HOME_URL, sign_in_through_form
from tests.e2e.test_patient_messages import HOSTILE, PHONE, check_page
from tests.factories import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e


def test_a_patient_books_moves_and_cancels_a_visit(new_page: Any, world: World) -> None:
    # The provider is away for two days: the soonest free times are past the online cancellation cutoff.
    now = timezone.now()
    AvailabilityException.objects.create(provider=world.provider, starts_at=now, ends_at=now + timedelta(days=2))
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)

    page.get_by_role("link", name="Appointments").first.click()
    check_page(page)
    page.get_by_role("link", name="Book a visit").click()
    page.get_by_label("Kind of visit").select_option(label="Checkup (20 min) · Riverside Family Clinic")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Show free times").click()
    check_page(page)
    page.locator(".slot-list a").first.click()
    check_page(page)
    page.get_by_label("Reason for the visit").fill("Headache " + HOSTILE)
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("Booked:")).to_be_visible()
    expect(page.get_by_text("Dr. Casey Nguyen").first).to_be_visible()
    check_page(page)
    booked = Appointment.objects.get(patient=world.patient_record)
    assert booked.reason == "Headache " + HOSTILE

    page.get_by_role("link", name="Move to another time").click()
    check_page(page)
    page.locator(".slot-list a").nth(1).click()
    expect(page.get_by_label("Reason for the visit")).to_have_value("Headache " + HOSTILE)
    page.get_by_role("button", name="Move it to this time").click()
    expect(page.get_by_text("Booked:")).to_be_visible()
    check_page(page)
    moved = Appointment.objects.get(patient=world.patient_record, status=AppointmentStatus.BOOKED)
    assert moved.pk != booked.pk

    # Check in before the visit: confirm, and fill the visit's mood questionnaire.
    page.get_by_role("link", name="Check in").first.click()
    check_page(page)
    page.get_by_label("My address, phone and email are still right").check()
    page.get_by_label("My insurance is the same").check()
    page.get_by_label("What changed").fill("A medicine stopped " + HOSTILE)
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Thank you: the clinic has your check-in.")).to_be_visible()
    page.get_by_role("link", name="Mood questionnaire (PHQ-9)").click()
    check_page(page)
    for group in page.locator("fieldset").all():
        group.get_by_label("Several days").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("Thank you: your answers were sent to the care team.")).to_be_visible()
    expect(page.get_by_text("Sent", exact=True)).to_be_visible()
    check_page(page)
    page.get_by_role("link", name="Back to appointments").click()

    page.get_by_role("button", name="Cancel this visit").click()
    expect(page.get_by_text("The visit was cancelled.")).to_be_visible()
    expect(page.get_by_text("No visits coming up.")).to_be_visible()
    check_page(page)
    assert not Appointment.objects.filter(patient=world.patient_record, status=AppointmentStatus.BOOKED).exists()


def test_the_clinic_sets_hours_and_time_away_and_books_for_a_patient_by_phone(new_page: Any, world: World) -> None:
    """The admin's side on a phone: the setup page, a provider's hours and time away (a hostile note stays
    inert), a closed day, the week, and booking Rosa from the desk; every page axe-core clean."""
    from tests.e2e.test_messaging_journey import sign_in_as_staff

    admin = new_page(viewport=PHONE)
    sign_in_as_staff(admin, "admin.here@example.test", "/staff/riverside/scheduling/")
    check_page(admin)
    admin.get_by_role("link", name="Dr. Casey Nguyen").click()
    check_page(admin)
    admin.get_by_label("Saturday").check()
    admin.get_by_label("From", exact=True).first.fill("19:00")
    admin.get_by_label("To", exact=True).fill("20:00")
    admin.locator("#hours").get_by_label("Video").check()
    admin.get_by_role("button", name="Add the hours").click()
    expect(admin.get_by_text("The hours are added.")).to_be_visible()
    check_page(admin)
    in_three_weeks = (timezone.localdate() + timedelta(days=21)).isoformat()
    admin.get_by_label("First day").fill(in_three_weeks)
    admin.get_by_label("Last day").fill(in_three_weeks)
    admin.get_by_label("Note for staff").fill("Course " + HOSTILE)
    admin.get_by_role("button", name="Save the time away").click()
    expect(admin.get_by_text("The time away is saved")).to_be_visible()
    check_page(admin)
    assert AvailabilityException.objects.get(provider=world.provider).reason == "Course " + HOSTILE

    admin.goto("/staff/riverside/scheduling/")
    admin.locator("#closed").get_by_label("Day").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    admin.get_by_role("button", name="Close the clinic that day").click()
    expect(admin.get_by_text("The clinic is closed that day")).to_be_visible()
    check_page(admin)
    admin.locator("#visits").get_by_role("link", name="Checkup").click()
    check_page(admin)
    admin.goto("/staff/riverside/scheduling/")
    admin.locator("#locations").get_by_role("link", name="Riverside Main Street").click()
    check_page(admin)
    admin.goto("/appointments/reminders/")
    check_page(admin)

    admin.goto("/staff/riverside/schedule/")
    admin.get_by_role("link", name="Book for a patient").first.click()
    admin.get_by_label("Patient's name or MRN").fill("Lopez")
    admin.get_by_role("button", name="Find").click()
    check_page(admin)
    admin.get_by_role("link", name="Lopez, Rosa").click()
    admin.get_by_role("button", name="Show free times").click()
    check_page(admin)
    admin.get_by_label("Reason for the visit").fill("Called about her blood pressure")
    admin.get_by_role("button", name="Book this time").click()
    expect(admin.get_by_text("Booked for Rosa Lopez")).to_be_visible()
    check_page(admin)
    booked = Appointment.objects.get(patient__given_name="Rosa", reason="Called about her blood pressure")
    assert booked.booked_by_staff
    admin.get_by_role("link", name="This week").click()
    check_page(admin)
