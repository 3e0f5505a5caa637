"""Projections are re-derived from the stored raw JSON when the projector changes (PROJECTION_VERSION)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from records.actions import import_fhir_file
from records.ingest import projection_fields
from records.models import FhirResource
from records.projections import PROJECTION_VERSION, project
from records.reproject import reproject
from records.tasks import reproject_task
from tests.conftest import World
from tests.records.test_pipeline import hba1c


@pytest.fixture
def stored(world: World) -> list[FhirResource]:
    """Four lab results as the ingest stores them today."""
    import json

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": hba1c(6.0 + n, rid=f"a1c-{n}")} for n in range(4)],
    }
    import_fhir_file(patient=world.patient_record, data=json.dumps(bundle).encode())
    return list(FhirResource.objects.order_by("pk"))


def make_stale(row: FhirResource) -> None:
    """As an older projector left it: another display, no abnormal flag, and its older version."""
    FhirResource.objects.filter(pk=row.pk).update(display="Glycated haemoglobin", abnormal=None, projection_version=0)


def test_the_ingest_stamps_the_current_version(stored: list[FhirResource]) -> None:
    assert {row.projection_version for row in stored} == {PROJECTION_VERSION}
    assert PROJECTION_VERSION >= 1


def test_older_rows_are_reprojected_and_current_ones_left_alone(stored: list[FhirResource]) -> None:
    stale, current = stored[:2], stored[2:]
    for row in stale:
        make_stale(row)
    FhirResource.objects.filter(pk=current[0].pk).update(display="Left as it is")  # current version: not looked at
    counts = reproject(batch_size=1)
    assert (counts.examined, counts.updated, counts.failed) == (2, 2, 0)
    for row in stale:
        row.refresh_from_db()
        expected = projection_fields(project(row.raw))
        assert {name: getattr(row, name) for name in expected} == expected
        assert (row.display, row.abnormal, row.projection_version) == ("HbA1c", True, PROJECTION_VERSION)
    current[0].refresh_from_db()
    assert current[0].display == "Left as it is"

    again = reproject(batch_size=1)  # a second run finds nothing to do
    assert (again.examined, again.updated) == (0, 0)


def test_all_rows_with_all(stored: list[FhirResource]) -> None:
    FhirResource.objects.filter(pk=stored[0].pk).update(display="Changed by hand")
    counts = reproject(all_rows=True, batch_size=3)
    assert (counts.examined, counts.updated, counts.unchanged) == (4, 1, 3)
    stored[0].refresh_from_db()
    assert stored[0].display == "HbA1c"
    again = reproject(all_rows=True)
    assert (again.examined, again.updated, again.unchanged) == (4, 0, 4)


def test_the_command_and_the_task(stored: list[FhirResource]) -> None:
    for row in stored:
        make_stale(row)
    out = StringIO()
    call_command("reproject", "--batch-size", "2", stdout=out)
    assert "4 rows examined, 4 updated, 0 already current, 0 could not be read." in out.getvalue()
    assert set(FhirResource.objects.values_list("display", flat=True)) == {"HbA1c"}
    assert reproject_task() == {"examined": 0, "updated": 0, "unchanged": 0, "failed": 0}
    assert reproject_task(all_rows=True) == {"examined": 4, "updated": 0, "unchanged": 4, "failed": 0}


def test_a_row_the_projector_cannot_read_is_counted_and_kept(
    stored: list[FhirResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_stale(stored[0])

    def broken(resource: object) -> object:
        raise KeyError("x")

    monkeypatch.setattr("records.reproject.project", broken)
    counts = reproject()
    assert (counts.examined, counts.failed, counts.updated) == (1, 1, 0)
    stored[0].refresh_from_db()
    assert (stored[0].display, stored[0].projection_version) == ("Glycated haemoglobin", 0)
