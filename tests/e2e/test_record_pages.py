"""The record's pages in a real browser: every page at phone width without sideways scrolling, axe-core clean,
in English and Spanish; a result with its trend drawn; no script runs from hostile strings in the records."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.actors import Scope, actor_for
from accounts.models import Patient
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant
from records.models import FhirResource
from records.sections import SECTIONS
from records.selectors import visible_to
from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, assert_no_horizontal_scrolling, sign_in_through_form
from tests.factories import TEST_PASSWORD
from tests.records.record_data import condition, immunization, lab, medication, source_for, store
from tests.records.test_notes import attachment, document, encounter

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    Page = Any
    expect = None

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
PHONE = {"width": 390, "height": 844}


def alex_with_two_sources(world: World) -> int:
    """Alex's record from two health systems, a long lab name and a hostile one; the HbA1c's row id."""
    riverside = source_for(world.patient_record, "Riverside Family Clinic")
    hospital = source_for(world.patient_record, "St. Mary's Regional Hospital")
    store(
        riverside,
        lab("a1c-1", value=7.9, when="2026-10-01T09:00:00Z"),
        lab("a1c-0", value=8.4, when="2026-04-01T09:00:00Z"),
        lab("long", code="2093-3", display="Cholesterol in serum or plasma by enzymatic method, fasting" * 2),
        lab("hostile", code="718-7", display=HOSTILE, unit=HOSTILE),
        condition("t1d", "Type 1 diabetes"),
        medication("insulin"),
        immunization("flu"),
    )
    store(hospital, lab("a1c-2", value=64, unit="mmol/mol", low=20, high=42, when="2026-07-01T09:00:00Z"))
    store(hospital, condition("t1d", "Type 1 diabetes"), immunization("flu"))
    # A private problem, shown to nobody yet, and a private result that waits (the privacy page lists both).
    store(
        riverside,
        condition("mood", "Depression", code="35489007", meta={"security": [{"code": "PSY"}]}),
        lab("hiv", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV"),
    )
    # A visit with a note: a long HTML table and a wide preformatted line must still fit a phone.
    wide = "<table><tr>" + "".join(f"<td>Column {n} {HOSTILE}</td>" for n in range(12)) + "</tr></table>"
    store(
        riverside,
        encounter("visit-1"),
        document(
            "note-1",
            attachment("text/html", f"<h1>Plan</h1><p>{'Walk daily. ' * 40}</p>{wide}", title=HOSTILE),
            attachment("text/plain", "x" * 400),
            attachment("application/pdf", b"%PDF-1.4 test", title="Letter.pdf"),
            encounter={"reference": "Encounter/visit-1"},
        ),
    )
    Patient.objects.filter(pk=world.patient_record.pk).update(results_after_discussion=True)
    ProxyGrant.objects.create(
        grantee=world.user("caregiver"),
        patient=world.patient_record,
        legal_basis=Basis.PATIENT_CONSENT,
        scopes=[Scope.RECORDS],
        status=GrantStatus.ACTIVE,
    )
    return int(visible_to(actor_for(world.user("patient"))).get(resource_id="a1c-1").pk)


def record_urls(result_id: int) -> list[str]:
    return [
        reverse("records:summary"),
        reverse("records:results"),
        reverse("records:result", args=[result_id]),
        reverse("records:timeline"),
        *[reverse("records:section", args=[slug]) for slug in SECTIONS],
        reverse("records:glossary"),
        reverse("records:privacy"),
        reverse("records:item", args=[FhirResource.objects.get(resource_id="mood").pk]),
        reverse("records:download"),
    ]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_record_page_fits_a_phone_and_passes_axe(new_page: Any, world: World, language: str) -> None:
    result_id = alex_with_two_sources(world)
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    if language == "es":
        page.get_by_label("Language").select_option("es")
        page.locator("form.language-form").get_by_role("button").click()
        page.get_by_label("Correo electrónico").fill("patient@example.test")
        page.get_by_label("Contraseña", exact=True).fill(TEST_PASSWORD)
        page.locator("form[action='/accounts/login/']").get_by_role("button", name="Iniciar sesión").click()
    else:
        sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    for url in record_urls(result_id):
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_no_horizontal_scrolling(page, PHONE["width"])
        axe_check(page)
        assert page.evaluate("window.__pwned === undefined"), f"a script from the record ran on {url}"


def test_a_result_draws_its_trend_across_sources(page: Page, world: World) -> None:
    result_id = alex_with_two_sources(world)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    page.goto(reverse("records:results"))
    page.get_by_role("link", name="Hemoglobin A1c").click()
    expect(page).to_have_url(f"{page.url.split('/records/')[0]}{reverse('records:result', args=[result_id])}")
    chart = page.get_by_role("img", name="Hemoglobin A1c over time")
    expect(chart).to_be_visible()
    assert chart.locator("circle").count() == 3  # Riverside's two and St. Mary's, converted from mmol/mol
    expect(page.get_by_role("table", name="All values of this test")).to_be_visible()
    expect(page.get_by_text("higher than the usual range").first).to_be_visible()
