from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from records.directory import load_endpoint_lists
from records.models import HealthSystem
from tests.shared_data import SHARED, shared_folder


def test_endpoint_lists_keep_r4_https_and_are_idempotent(db: object, tmp_path: Path) -> None:
    (tmp_path / "Acme_Health_EndpointSources.json").write_text(
        json.dumps(
            {
                "Endpoints": [
                    {
                        "URL": "https://fhir.acme.example/R4/",
                        "OrganizationName": "Acme General",
                        "OrganizationZipCode": "60601",
                    },
                    {"URL": "https://fhir.acme.example/DSTU2/", "OrganizationName": "Acme General (old)"},
                    {"URL": "http://insecure.example/fhir", "OrganizationName": "Insecure"},
                    {"URL": "https://fhir.acme.example/R4", "OrganizationName": "Acme duplicate"},
                ]
            }
        )
    )
    (tmp_path / "LanternEndpointSources.json").write_text("")
    assert load_endpoint_lists(tmp_path) == 1
    assert load_endpoint_lists(tmp_path) == 0
    system = HealthSystem.objects.get()
    assert (system.name, system.vendor, system.postal_code) == ("Acme General", "Acme Health", "60601")
    assert system.fhir_base_url == "https://fhir.acme.example/R4"


def test_configured_systems_and_the_public_lists(db: object, settings: object) -> None:
    settings.HEALTH_SYSTEMS = [
        {
            "name": "Local sandbox",
            "fhir_base_url": "http://127.0.0.1:8900/riverside/fhir",
            "client_id": "portal",
            "city": "Springfield",
            "is_sandbox": True,
        },
    ]
    settings.HEALTH_SYSTEM_ENDPOINT_LISTS = str(SHARED / "endpoints" / "lantern-prod-resources")
    shared_folder("endpoints")
    out = StringIO()
    call_command("load_health_systems", stdout=out)
    assert "1 configured health systems." in out.getvalue()
    assert HealthSystem.objects.get(is_sandbox=True).client_id == "portal"
    assert HealthSystem.objects.count() > 1000
    assert not HealthSystem.objects.filter(fhir_base_url__contains="/DSTU2").exists()
