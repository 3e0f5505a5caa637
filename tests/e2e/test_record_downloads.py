"""Downloading the record in a real browser: the page passes axe-core and fits a phone, a bad period is explained
on the page, and the results spreadsheet arrives as a file with the record's results in it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

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


def test_the_results_spreadsheet_downloads_through_the_page(
    new_page: Any, world: World, browser_problems: PageProblems
) -> None:
    alex_with_two_sources(world)
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    page.goto(reverse("records:summary"))
    page.get_by_role("link", name="Download the record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download Alex Rivera's record")
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)

    # A period that ends before it starts is explained on the page, which still passes axe-core.
    browser_problems.expect_status(reverse("records:download_file"), 400)
    page.get_by_label("Test results for a spreadsheet (CSV)").check()
    page.get_by_label("From (optional)").fill("2026-12-31")
    page.get_by_label("To (optional)").fill("2026-01-01")
    page.get_by_role("button", name="Download").click()
    expect(page.get_by_role("alert")).to_contain_text("The start date is after the end date.")
    axe_check(page)

    page.get_by_label("From (optional)").fill("2026-01-01")
    page.get_by_label("To (optional)").fill("2026-12-31")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    download = info.value
    assert re.fullmatch(r"test-results-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Date", "Test", "LOINC code", "Value"]
    a1c = [row for row in rows[1:] if row[1] == "Hemoglobin A1c"]
    assert sorted(row[3] for row in a1c) == ["64", "7.9", "8.4"]  # every value, each in its own unit
    assert any(row[8] == "St. Mary's Regional Hospital" for row in a1c)
    hostile = next(row for row in rows[1:] if row[2] == "718-7")
    assert hostile[1].startswith("<img src=x")  # only text in a spreadsheet, as the lab sent it
    assert page.evaluate("window.__pwned === undefined")
