"""Third-party FHIR data on every record page: HL7's examples and Synthea patients render, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Patient
from records.actions import import_fhir_file
from records.models import FhirResource
from records.sections import SECTIONS
from tests.conftest import World, sign_in
from tests.shared_data import SHARED, shared_folder

LIST_PAGES = [
    ("records:summary", (), {}),
    ("records:results", (), {}),
    ("records:results", (), {"show": "measurements"}),
    ("records:timeline", (), {}),
    ("records:timeline", (), {"page": "2"}),
    *[("records:section", (slug,), {}) for slug in SECTIONS],
    ("records:privacy", (), {}),
    ("records:download", (), {}),
    # The whole record as a FHIR Bundle, the results as CSV and the readable PDF summary.
    ("records:download_file", (), {"format": "fhir"}),
    ("records:download_file", (), {"format": "csv"}),
    ("records:download_file", (), {"format": "pdf"}),
]


def render_everything(client: Client, patient: Patient, *, item_limit: int | None = None) -> int:
    """Every list page, then the page of each item (every one, or the first of each test and kind)."""
    for name, args, query in LIST_PAGES:
        response = client.get(reverse(name, args=args), query)
        assert response.status_code == 200, (name, query, response.status_code)
        if query.get("format") == "pdf":
            assert b"".join(response.streaming_content if response.streaming else [response.content])[:5] == b"%PDF-"
    rows = FhirResource.objects.filter(patient=patient).order_by("pk")
    if item_limit is not None:
        firsts: dict[tuple[str, str, str], int] = {}
        for pk, resource_type, kind, code in rows.values_list("pk", "resource_type", "kind", "code"):
            firsts.setdefault((resource_type, kind, code), pk)
        chosen = sorted(firsts.values())[:item_limit]
    else:
        chosen = list(rows.values_list("pk", flat=True))
    for pk in chosen:
        resource_type = FhirResource.objects.values_list("resource_type", flat=True).get(pk=pk)
        name = "records:result" if resource_type == "Observation" else "records:item"
        response = client.get(reverse(name, args=[pk]))
        assert response.status_code == 200, (name, pk, resource_type, response.status_code)
    return len(chosen)


def test_every_hl7_example_renders_on_every_page(client: Client, world: World) -> None:
    folder = shared_folder("examples")
    patient = world.patient_record
    for path in sorted(folder.glob("*.json")):
        import_fhir_file(patient=patient, data=path.read_bytes(), filename=path.name, label=path.stem[:200])
    sign_in(client, world, "patient")
    assert render_everything(client, patient) > 400


def synthea_samples() -> list[Path]:
    """One patient from each Synthea collection (the first by name), to keep the run short."""
    folder = SHARED / "synthea"
    if not folder.is_dir():
        return [Path("synthea-absent")]
    picks = []
    for collection in sorted(p for p in folder.iterdir() if p.is_dir()):
        bundles = sorted(p for p in collection.rglob("*.json") if "Information" not in p.name)
        if bundles:
            picks.append(bundles[0])
    return picks


@pytest.mark.parametrize("path", synthea_samples(), ids=lambda p: p.parent.name[:30])
def test_a_synthea_patient_renders_on_every_page(client: Client, world: World, path: Path) -> None:
    shared_folder("synthea")
    patient = world.patient_record
    import_fhir_file(patient=patient, data=path.read_bytes(), filename=path.name, label="Synthea")
    sign_in(client, world, "patient")
    assert render_everything(client, patient, item_limit=400) > 5
