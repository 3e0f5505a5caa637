"""Home measurements: blood pressure, weight and glucose, entered by the person or a caregiver, and shown beside
(never merged with) the clinic's values of the same test."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from records.models import FhirResource, GlucoseContext, HomeMeasurement, MeasurementKind
from records.selectors import visible_to
from tests.conftest import World, sign_in
from tests.records.record_data import lab, source_for, store

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def a_while_ago(hours: int = 24) -> str:
    """A wall time in the past in every time zone, as a datetime-local input sends it."""
    return (timezone.now() - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def post(client: Client, world: World, kind: str, *, patient: str = "rosa", **fields: str) -> object:
    person = world.people.get(patient, world.patient_record)
    body = {"kind": kind, "measured_at": a_while_ago(), "subject": str(person.pk), **fields}
    return client.post(reverse("records:measurements"), body)


def reading(world: World, *, author: str = "patient", patient: str = "alex", **fields: object) -> HomeMeasurement:
    user = world.user(author)
    values: dict[str, object] = {"kind": MeasurementKind.BLOOD_PRESSURE, "systolic": 130, "diastolic": 85}
    values.update(fields)
    if values["kind"] == MeasurementKind.BLOOD_PRESSURE:
        values["unit"] = "mm[Hg]"
    return HomeMeasurement.objects.create(
        patient=world.people.get(patient, world.patient_record),
        author=user,
        author_name=user.full_name or user.email,
        **values,
    )


# Adding ------------------------------------------------------------------------------------------------


def test_a_blood_pressure_reading_is_saved_listed_and_drawn(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    response = post(
        client, world, "blood_pressure", patient="alex", systolic="131", diastolic="84", note="after a walk"
    )
    assert response.status_code == 302
    saved = HomeMeasurement.objects.get()
    assert (saved.patient, saved.systolic, saved.diastolic, saved.unit) == (world.patient_record, 131, 84, "mm[Hg]")
    assert saved.author == world.user("patient")
    assert not FhirResource.objects.exists()
    html = client.get(reverse("records:measurements")).content.decode()
    assert "131/84 mmHg" in html
    assert "Entered by you" in html
    assert 'class="trend-point trend-point-patient"' in html  # drawn as a home reading
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_MEASUREMENT_ADDED, object_id=str(saved.pk)).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"systolic": "131"}, "Enter the bottom number (diastolic)."),
        ({"diastolic": "84"}, "Enter the top number (systolic)."),
        ({"systolic": "400", "diastolic": "84"}, "The top number (systolic) must be between 50 and 300 mmHg."),
        ({"systolic": "131", "diastolic": "10"}, "The bottom number (diastolic) must be between 20 and 200 mmHg."),
        ({"systolic": "80", "diastolic": "120"}, "must be lower than the top number (systolic)"),
        ({"systolic": "12O", "diastolic": "80"}, "Enter the top number as a whole number, for example 120."),
    ],
)
def test_blood_pressure_needs_both_numbers_in_plausible_ranges(
    client: Client, world: World, fields: dict[str, str], message: str
) -> None:
    sign_in(client, world, "caregiver_full")
    response = post(client, world, "blood_pressure", note="left arm, sitting", **fields)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    for value in fields.values():
        assert f'value="{value}"' in html  # the form comes back filled
    assert 'value="left arm, sitting"' in html
    assert not HomeMeasurement.objects.exists()


def test_a_time_in_the_future_is_refused(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    later = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = post(client, world, "weight", value="70", unit="kg", measured_at=later)
    assert "The time cannot be in the future." in response.content.decode()
    assert not HomeMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": "900", "unit": "kg"}, "A weight must be between 1 and 500 kg."),
        ({"value": "0.5", "unit": "[lb_av]"}, "A weight must be between 2 and 1100 lb."),
        ({"value": "heavy", "unit": "kg"}, "Enter the weight as a number, for example 72.5."),
        ({"value": "70", "unit": "stone"}, "Choose kg or lb."),
    ],
)
def test_weight_is_checked(client: Client, world: World, fields: dict[str, str], message: str) -> None:
    sign_in(client, world, "caregiver_full")
    response = post(client, world, "weight", **fields)
    assert message in response.content.decode()
    assert not HomeMeasurement.objects.exists()


def test_a_weight_is_stored_in_its_own_unit(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    assert post(client, world, "weight", value="154,5", unit="[lb_av]").status_code == 302
    saved = HomeMeasurement.objects.get()
    assert (saved.value, saved.unit) == (Decimal("154.50"), "[lb_av]")
    assert "154.5 lb" in client.get(reverse("records:measurements")).content.decode()


def test_glucose_needs_its_context(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    response = post(client, world, "glucose", value="5.8", unit="mmol/L")
    assert "Choose when it was taken: fasting, before a meal, after a meal, or other." in response.content.decode()
    assert 'value="5.8"' in response.content.decode()
    response = post(client, world, "glucose", value="70", unit="mmol/L", glucose_context="fasting")
    assert "A blood glucose reading must be between 0.5 and 55.5 mmol/L." in response.content.decode()
    assert not HomeMeasurement.objects.exists()
    assert post(client, world, "glucose", value="5.8", unit="mmol/L", glucose_context="fasting").status_code == 302
    saved = HomeMeasurement.objects.get()
    assert (saved.value, saved.unit, saved.glucose_context) == (Decimal("5.80"), "mmol/L", GlucoseContext.FASTING)
    html = client.get(reverse("records:measurements")).content.decode()
    assert "5.8 mmol/L" in html
    assert "Fasting" in html


def test_an_unknown_measurement_adds_nothing(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    assert post(client, world, "temperature", value="38").status_code == 302
    assert not HomeMeasurement.objects.exists()


# Who may do what ---------------------------------------------------------------------------------------


def test_a_caregiver_without_the_records_scope_is_refused(client: Client, world: World) -> None:
    theirs = reading(world, author="caregiver_full", patient="rosa")
    sign_in(client, world, "caregiver_manager")
    assert client.get(reverse("records:measurements")).status_code == 404
    assert post(client, world, "blood_pressure", systolic="120", diastolic="80").status_code == 404
    assert client.post(reverse("records:measurement_delete", args=[theirs.pk])).status_code == 404
    assert HomeMeasurement.objects.count() == 1


def test_only_the_author_or_the_patient_deletes_a_reading(client: Client, world: World) -> None:
    by_full = reading(world, author="caregiver_full", patient="rosa")
    sign_in(client, world, "caregiver_records")  # may read Rosa's readings, did not enter this one
    html = client.get(reverse("records:measurements")).content.decode()
    assert "130/85 mmHg" in html
    assert reverse("records:measurement_delete", args=[by_full.pk]) not in html
    assert client.post(reverse("records:measurement_delete", args=[by_full.pk])).status_code == 403
    assert HomeMeasurement.objects.filter(pk=by_full.pk).exists()
    client.logout()
    sign_in(client, world, "caregiver_full")
    assert client.post(reverse("records:measurement_delete", args=[by_full.pk])).status_code == 302
    assert not HomeMeasurement.objects.exists()


def test_a_hostile_note_renders_inert(client: Client, world: World) -> None:
    reading(world, author="caregiver_full", patient="rosa", note=HOSTILE)
    sign_in(client, world, "caregiver_full")
    html = client.get(reverse("records:measurements")).content.decode()
    assert "<script>window.__pwned" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_reads_by_anyone_but_the_patient_are_audited(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.get(reverse("records:measurements"))
    assert not AuditEvent.objects.filter(action=AuditAction.RECORDS_MEASUREMENTS_VIEWED).exists()
    client.logout()
    sign_in(client, world, "caregiver_records")
    client.get(reverse("records:measurements"))
    assert AuditEvent.objects.filter(action=AuditAction.RECORDS_MEASUREMENTS_VIEWED).exists()


# Beside the clinic's values ----------------------------------------------------------------------------


def clinic_systolic(world: World) -> int:
    """Two systolic pressures from a clinic, with the clinic's usual range 90-120; the newest one's row id."""
    clinic = source_for(world.patient_record, "Riverside Family Clinic")
    common = {"code": "8480-6", "display": "Systolic blood pressure", "unit": "mm[Hg]", "category": "vital-signs"}
    store(
        clinic,
        lab("sbp-1", value=142, when="2026-03-01T09:00:00Z", low=90, high=120, **common),
        lab("sbp-2", value=138, when="2026-06-01T09:00:00Z", low=90, high=120, **common),
    )
    return int(visible_to(actor_for(world.user("patient"))).get(resource_id="sbp-2").pk)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_home_readings_join_the_clinics_trend_drawn_apart(client: Client, world: World) -> None:
    result_id = clinic_systolic(world)
    reading(world, systolic=151, diastolic=92, measured_at=at("2026-04-10T08:00:00+00:00"))
    reading(world, systolic=128, diastolic=80, measured_at=at("2026-05-10T08:00:00+00:00"))
    sign_in(client, world, "patient")
    html = client.get(reverse("records:result", args=[result_id])).content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    # The clinic's two values are circles on the solid line, as before; the home readings are squares on a dashed one.
    assert len(re.findall(r"<circle class=\"trend-point", svg)) == 2
    assert len(re.findall(r"<rect class=\"trend-point trend-point-patient\" x=\"[\d.]+\" y=\"[\d.]+\" width", svg)) == 3
    assert 'class="trend-line trend-line-patient"' in svg
    assert 'stroke-dasharray="4 3"' in svg
    assert "Entered by you" in svg  # the legend
    assert "Usual range: 90\N{EN DASH}120 mmHg" in svg  # the band stays the clinic's
    # The table: the clinic's values as they were, the home readings marked as entered.
    table = html[html.index("All values of this test") :]
    assert table.count("Entered by you") == 2
    assert "151 mmHg" in table
    assert "128 mmHg" in table
    assert "142" in table
    assert "138" in table
    assert table.index("128 mmHg") < table.index("151 mmHg")  # newest first, in between the clinic's
    assert "Riverside Family Clinic" in table


def test_a_caregiver_sees_who_entered_each_reading(client: Client, world: World) -> None:
    clinic = source_for(world.people["rosa"], "Outside Hospital")
    store(
        clinic,
        lab(
            "wt-1",
            code="29463-7",
            display="Body weight",
            value=70,
            unit="kg",
            low=None,
            high=None,
            category="vital-signs",
        ),
    )
    result_id = FhirResource.objects.get(resource_id="wt-1").pk
    world.user("caregiver_full").full_name = "Maria Lopez"
    world.user("caregiver_full").save()
    reading(
        world,
        author="caregiver_full",
        patient="rosa",
        kind=MeasurementKind.WEIGHT,
        systolic=None,
        diastolic=None,
        value=Decimal("154"),
        unit="[lb_av]",
        measured_at=timezone.now() - timedelta(days=3),
    )
    sign_in(client, world, "caregiver_records")
    html = client.get(reverse("records:result", args=[result_id])).content.decode()
    assert "Entered by Maria Lopez" in html
    assert "154 lb" in html
    assert "(69.9 kg)" in html
    assert "Entered at home" in html  # the legend: not all of them were entered by the reader


def test_home_glucose_in_mmol_joins_a_clinic_glucose_in_mg(client: Client, world: World) -> None:
    clinic = source_for(world.patient_record, "Riverside Family Clinic")
    common = {"code": "2345-7", "display": "Glucose", "unit": "mg/dL", "low": 70, "high": 99}
    store(
        clinic,
        lab("glu-1", value=110, when="2026-03-01T09:00:00Z", **common),
    )
    result_id = int(visible_to(actor_for(world.user("patient"))).get(resource_id="glu-1").pk)
    reading(
        world,
        kind=MeasurementKind.GLUCOSE,
        systolic=None,
        diastolic=None,
        value=Decimal("5.5"),
        unit="mmol/L",
        glucose_context=GlucoseContext.AFTER_MEAL,
        measured_at=at("2026-04-01T08:00:00+00:00"),
    )
    sign_in(client, world, "patient")
    html = client.get(reverse("records:result", args=[result_id])).content.decode()
    assert "5.5 mmol/L" in html
    assert "(99.1 mg/dL)" in html
    assert "After a meal" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "99.09 mg/dL" in svg or "99.1 mg/dL" in svg  # the point, in the clinic's unit


def test_other_tests_show_no_home_readings(client: Client, world: World) -> None:
    clinic = source_for(world.patient_record, "Riverside Family Clinic")
    store(clinic, lab("a1c-1"))
    result_id = int(visible_to(actor_for(world.user("patient"))).get(resource_id="a1c-1").pk)
    reading(world)
    sign_in(client, world, "patient")
    html = client.get(reverse("records:result", args=[result_id])).content.decode()
    assert "Entered by" not in html


def test_the_summary_shows_the_latest_home_readings(client: Client, world: World) -> None:
    reading(world, systolic=150, diastolic=95, measured_at=timezone.now() - timedelta(days=5))
    reading(world, systolic=122, diastolic=78, measured_at=timezone.now() - timedelta(days=1))
    reading(world, kind=MeasurementKind.WEIGHT, systolic=None, diastolic=None, value=Decimal("80"), unit="kg")
    sign_in(client, world, "patient")
    html = client.get(reverse("records:summary")).content.decode()
    assert "Latest home readings" in html
    assert "122/78 mmHg" in html
    assert "80 kg" in html
    assert "150/95" not in html
