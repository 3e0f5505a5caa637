"""Messages on a 390 px phone: a patient writes to a care team with a file and hostile words, then reads the
conversation; every page axe-core clean, without sideways scrolling, and with no script from hostile words running."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import SMALL_PDF, World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, assert_no_horizontal_scrolling, sign_in_through_form
from tests.factories import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
PHONE = {"width": 390, "height": 844}


def check_page(page: Any) -> None:
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)
    assert page.evaluate("window.__pwned === undefined"), f"a script from a message ran on {page.url}"


def test_a_patient_writes_with_a_file_and_reads_the_conversation(new_page: Any, world: World, tmp_path: Any) -> None:
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(SMALL_PDF)
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)

    page.get_by_role("link", name="Messages").first.click()
    check_page(page)
    page.get_by_role("link", name="Write a new message").click()
    check_page(page)
    page.get_by_label("Diabetes care team").check()
    page.get_by_label("What it is about").select_option("care")
    page.get_by_label("Subject").fill("Dose " + HOSTILE)
    page.get_by_label("Message").fill("Should I change my dose? javascript:alert(1) " + HOSTILE)
    page.get_by_label("Files (optional)").set_input_files(str(letter))
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your message was sent to Diabetes care team.")).to_be_visible()
    expect(page.get_by_role("link", name="letter.pdf")).to_be_visible()
    check_page(page)

    page.goto(reverse("messaging:inbox"))
    expect(page.get_by_role("link", name="Dose " + HOSTILE)).to_be_visible()
    check_page(page)
