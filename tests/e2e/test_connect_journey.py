"""Connecting a health system in a real browser: the directory, the health system's sign-in page, back home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_sandbox.server import RunningSandbox
from records.models import HealthSystem
from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, sign_in_through_form
from tests.factories import TEST_PASSWORD
from tests.records.clinic import EXPECTED, clinic_sandbox

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips or fails with the reason
    expect = None

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox(tmp_path: Path, live_server: Any) -> Iterator[RunningSandbox]:
    with clinic_sandbox(tmp_path, redirect_uri=f"{live_server.url}/records/callback/") as running:
        yield running


def test_connect_a_health_system(page: Any, world: World, sandbox: RunningSandbox, eager_tasks: None) -> None:
    HealthSystem.objects.create(
        name="Test Clinic", city="Springfield", fhir_base_url=sandbox.fhir_base("clinic"), client_id="portal-test"
    )
    page.goto("/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    page.get_by_role("link", name="Connect a health system").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bring in Alex Rivera's records")
    axe_check(page)
    page.get_by_label("Name or city").fill("Springfield")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Connect Test Clinic").click()
    expect(page.get_by_role("heading", level=1, name="Sign in at Test Clinic")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Continue to Test Clinic").click()

    # The health system's own sign-in page (the sandbox plays it): choose the patient and allow.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Test Clinic EHR")
    page.get_by_label(re.compile(r"^pat-1 Sync")).check()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", level=1, name="Test Clinic")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Connected")
    expect(page.get_by_text(str(sum(EXPECTED.values())), exact=True)).to_be_visible()
    axe_check(page)
