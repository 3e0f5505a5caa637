"""What the person writes down themselves, in a real browser on a 390 px phone: a blood pressure reading added
and drawn (on its own chart and beside the clinic's values), a journal entry, and the printable page; every
page axe-core clean, without sideways scrolling, and with no script from hostile words running."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.actors import actor_for
from records.selectors import visible_to
from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, assert_no_horizontal_scrolling, sign_in_through_form
from tests.factories import TEST_PASSWORD
from tests.records.record_data import lab, source_for, store

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
PHONE = {"width": 390, "height": 844}


def clinic_systolic(world: World) -> int:
    clinic = source_for(world.patient_record, "Riverside Family Clinic")
    common: dict[str, Any] = {"code": "8480-6", "display": "Systolic blood pressure", "unit": "mm[Hg]"}
    store(
        clinic,
        lab("sbp-1", value=142, when="2026-03-01T09:00:00Z", low=90, high=120, category="vital-signs", **common),
        lab("sbp-2", value=138, when="2026-06-01T09:00:00Z", low=90, high=120, category="vital-signs", **common),
    )
    return int(visible_to(actor_for(world.user("patient"))).get(resource_id="sbp-2").pk)


def check_page(page: Any) -> None:
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)
    assert page.evaluate("window.__pwned === undefined"), f"a script from an entry ran on {page.url}"


def test_a_blood_pressure_reading_and_a_journal_entry_on_a_phone(new_page: Any, world: World) -> None:
    result_id = clinic_systolic(world)
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)

    # A blood pressure reading, added and drawn on the page's chart as a home reading.
    page.goto(reverse("records:measurements"))
    check_page(page)
    page.get_by_label("Top number (systolic), mmHg").fill("131")
    page.get_by_label("Bottom number (diastolic), mmHg").fill("84")
    page.locator("#blood_pressure_note").fill(HOSTILE)
    page.get_by_role("button", name="Save the blood pressure").click()
    expect(page.get_by_text("The reading is saved.")).to_be_visible()
    expect(page.get_by_text("131/84 mmHg").first).to_be_visible()
    chart = page.get_by_role("img", name="Blood pressure, top number (systolic)")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.trend-point-patient")).to_have_count(2)  # the reading, and its legend
    check_page(page)

    # The clinic's systolic trend now shows it too, apart from the clinic's two values.
    page.goto(reverse("records:result", args=[result_id]))
    trend = page.get_by_role("img", name="Systolic blood pressure over time")
    expect(trend.locator("circle")).to_have_count(2)
    expect(trend.locator("rect.trend-point-patient")).to_have_count(2)
    expect(page.get_by_role("table", name="All values of this test").get_by_text("Entered by you")).to_have_count(1)
    check_page(page)

    # A question for the next visit, then the printable page.
    page.goto(reverse("records:journal"))
    page.get_by_label("What kind of entry").select_option("question")
    page.get_by_label("What happened, or what you want to ask").fill("Is 131 too high? " + HOSTILE)
    page.get_by_role("button", name="Save in the journal").click()
    expect(page.get_by_text("Saved in the journal.")).to_be_visible()
    expect(page.get_by_text("Written by Alex Rivera")).to_be_visible()
    check_page(page)

    page.get_by_role("link", name="Page to print for the next visit").click()
    expect(page.get_by_role("heading", name="Questions for the next visit")).to_be_visible()
    expect(page.get_by_text("Is 131 too high?")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by its script file
    check_page(page)
