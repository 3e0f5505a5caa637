"""The demo's bill: Maria sees Rosa's Riverside bill due, with Medicare's part; once Riverside's records are in
(what connecting Riverside brings), Medicare's own statement of that visit shows beside it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.demo import demo_patient
from accounts.models import Organization, User
from billing.models import BillingAccount
from billing.selectors import balance_of
from fhir_sandbox.demo import main as write_demo_data
from proxy.middleware import ACTING_FOR_KEY
from records.ingest import write_page
from records.models import HealthSystem, RecordSource, SourceKind


@pytest.fixture
def demo(db: object, settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


def _maria_for_rosa() -> Client:
    client = Client()
    client.force_login(User.objects.get(email="caregiver@demo.test"))
    session = client.session
    session[ACTING_FOR_KEY] = str(demo_patient("rosa").pk)
    session.save()
    return client


def test_maria_sees_rosas_bill_due_with_medicares_part(demo: None) -> None:
    account = BillingAccount.objects.get(organization__slug="riverside", patient=demo_patient("rosa"))
    assert balance_of(account) > 0
    assert account.statements.get().due_on > timezone.localdate()
    maria = _maria_for_rosa()
    family = maria.get(reverse("family")).content.decode()
    assert "from Riverside Family Clinic is due" in family
    page = maria.get(reverse("billing:statement", args=[account.pk])).content.decode()
    assert "Insurance paid" in page
    assert "$163.60" in page  # what Medicare paid, on the clinic's bill


def test_connecting_riverside_puts_medicares_statement_beside_the_visit(demo: None, tmp_path: Path) -> None:
    write_demo_data([str(tmp_path), "--redirect-uri", "http://127.0.0.1:8000/records/callback/"])
    rosa = demo_patient("rosa")
    # The demo's directory entry for Riverside (made by seed_demo from the demo settings; here, for the test's).
    system, _ = HealthSystem.objects.get_or_create(
        organization=Organization.objects.get(slug="riverside"),
        defaults={"name": "Riverside Family Clinic", "fhir_base_url": "http://127.0.0.1:8900/riverside/fhir"},
    )
    source = RecordSource.objects.create(
        patient=rosa, kind=SourceKind.CONNECTION, health_system=system, label=system.name
    )
    bundle = json.loads((tmp_path / "riverside" / "rosa-lopez-rfc.json").read_text())
    result = write_page(source, [entry["resource"] for entry in bundle["entry"]])
    assert not result.problems
    account = BillingAccount.objects.get(organization__slug="riverside", patient=rosa)
    page = _maria_for_rosa().get(reverse("billing:statement", args=[account.pk])).content.decode()
    assert "What your insurer says about this visit" in page
