"""The demo starts with records: Rosa's and Alex's outside-hospital charts, shown on their record pages."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.demo import demo_patient
from accounts.models import User
from fhir_sandbox.demo import main as write_demo_data
from records.models import RecordSource


@pytest.fixture
def demo(db: object, settings: Any, tmp_path: Path) -> Path:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    write_demo_data([str(tmp_path), "--redirect-uri", "http://127.0.0.1:8000/records/callback/"])
    return tmp_path


def test_rosa_and_alex_start_with_the_outside_hospitals_records(demo: Path, client: Client) -> None:
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    for key in ("rosa", "alex"):
        sources = RecordSource.objects.filter(patient=demo_patient(key))
        assert [source.label for source in sources] == ["St. Mary's Regional Hospital"]
        assert sources.get().resources.count() > 10
    client.force_login(User.objects.get(email="patient@demo.test"))
    html = client.get(reverse("records:results")).content.decode()
    assert "St. Mary&#x27;s Regional Hospital" in html
    assert client.get(reverse("records:summary")).status_code == 200


def test_seeding_the_records_again_changes_nothing(demo: Path) -> None:
    out = StringIO()
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    count = RecordSource.objects.get(patient=demo_patient("alex")).resources.count()
    call_command("seed_demo_records", str(demo), stdout=out)
    assert RecordSource.objects.get(patient=demo_patient("alex")).resources.count() == count
    assert " 0 new, 0 changed" in out.getvalue()


def test_the_demo_records_need_the_data_and_debug(demo: Path, settings: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="missing"):
        call_command("seed_demo_records", str(tmp_path / "nowhere"), stdout=StringIO())
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo_records", str(demo), stdout=StringIO())


def test_riverside_merges_into_the_same_lists(demo: Path, client: Client) -> None:
    """Riverside's records (here as the file its sync would bring) join the hospital's: one item, two sources."""
    call_command("seed_demo_records", str(demo), stdout=StringIO())
    riverside = demo / "riverside" / "alex-rivera-rfc.json"
    call_command(
        "import_fhir", "--patient", "patient@demo.test", "--label", "Riverside", str(riverside), stdout=StringIO()
    )
    client.force_login(User.objects.get(email="patient@demo.test"))
    html = client.get(reverse("records:section", args=["problems"])).content.decode()
    (line,) = [item for item in html.split("<li>") if "Type 1 diabetes" in item or "type 1" in item]
    assert "Riverside" in line
    assert "St. Mary&#x27;s Regional Hospital" in line
