"""Sharing with a SMART Health Link in a real browser: the person makes a link with a passcode; a fresh
browser (no session) opens it in our viewer, decrypts it there and shows the record; once the person ends
the link, it no longer opens. The share pages and the viewer fit a phone and pass axe-core."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from records import shlinks
from tests.conftest import World
from tests.e2e.conftest import PageProblems, axe_check
from tests.e2e.test_account_journeys import HOME_URL, assert_no_horizontal_scrolling, sign_in_through_form
from tests.e2e.test_record_pages import PHONE, alex_with_two_sources
from tests.factories import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e

PASSCODE = "sunflower-42"


def test_a_link_opens_in_a_fresh_browser_with_its_passcode_until_it_is_ended(
    new_page: Any, world: World, browser_problems: PageProblems
) -> None:
    alex_with_two_sources(world)
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    page.goto(reverse("records:share_links"))
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)
    page.get_by_label("Name for this link").fill("For Dr. Patel")
    page.get_by_label("30 days").check()
    page.get_by_label("Passcode").fill(PASSCODE)
    page.get_by_role("button", name="Make the link").click()
    expect(page.get_by_role("heading", name="For Dr. Patel", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the shared link")).to_be_visible()
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)
    link = page.get_by_role("textbox", name="The link").input_value()
    manifest_path = urlparse(shlinks.decode_link(link)["url"]).path
    browser_problems.expect_status(manifest_path, 401)
    browser_problems.expect_status(manifest_path, 404)

    viewer = new_page(viewport=PHONE)  # someone else's browser: no session here
    viewer.goto(link)
    expect(viewer.get_by_text("Shared as: For Dr. Patel")).to_be_visible()
    viewer.get_by_label("Passcode").fill("not-the-one")
    viewer.get_by_role("button", name="Open the record").click()
    expect(viewer.get_by_role("alert")).to_have_text("Wrong passcode. 9 tries left before the link stops working.")
    viewer.get_by_label("Passcode").fill(PASSCODE)
    viewer.get_by_role("button", name="Open the record").click()
    expect(viewer.get_by_role("heading", name="Health problems")).to_be_visible()
    expect(viewer.get_by_text("Type 1 diabetes").first).to_be_visible()
    expect(viewer.get_by_text("Usual range: 4\u20135.6 %").first).to_be_visible()
    expect(viewer.get_by_text("Alex Rivera")).to_be_visible()
    assert viewer.evaluate("window.__pwned === undefined"), "a script from the shared record ran"
    assert_no_horizontal_scrolling(viewer, PHONE["width"])
    axe_check(viewer)

    page.reload()
    expect(page.get_by_text("Family health portal viewer · Opened")).to_be_visible()
    expect(page.get_by_text("Family health portal viewer · Wrong passcode")).to_be_visible()
    page.get_by_role("button", name="End this link now").click()
    expect(page.get_by_text("Ended on")).to_be_visible()

    again = new_page(viewport=PHONE)
    again.goto(link)
    again.get_by_label("Passcode").fill(PASSCODE)
    again.get_by_role("button", name="Open the record").click()
    expect(again.get_by_role("alert")).to_contain_text("This link no longer works")
    axe_check(again)


def test_the_viewer_explains_itself_without_a_link_or_without_javascript(new_page: Any) -> None:
    viewer = new_page(viewport=PHONE)
    viewer.goto(reverse("records:shl_viewer"))
    expect(viewer.get_by_role("alert")).to_contain_text("There is no shared link in this address")
    expect(viewer.get_by_text("It needs JavaScript")).to_be_hidden()
    axe_check(viewer)
    no_script = new_page(viewport=PHONE, java_script_enabled=False)
    no_script.goto(reverse("records:shl_viewer") + "#shlink:/e30")
    expect(no_script.get_by_text("It needs JavaScript")).to_be_visible()
    assert_no_horizontal_scrolling(no_script, PHONE["width"])
