"""Signing in at a test health system the way a person does: Connect, the health system's page, back."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from fhir_sandbox.server import RunningSandbox, start
from records.models import HealthSystem
from tests.records.clinic import write_data

CALLBACK = "http://testserver/records/callback/"


def smart_sandbox(folder: Path, *clients: dict[str, Any]) -> RunningSandbox:
    """The clinic of tests.records.clinic (patients pat-1 and pat-2) with these clients besides "portal-test"."""
    write_data(folder / "clinic")
    return start(
        {
            "systems": [
                {
                    "prefix": "clinic",
                    "name": "Test Clinic EHR",
                    "data": str(folder / "clinic"),
                    "clients": [{"client_id": "portal-test", "redirect_uris": [CALLBACK]}, *clients],
                }
            ]
        }
    )


def clinic_system(sandbox: RunningSandbox, **fields: Any) -> HealthSystem:
    values = {"name": "Test Clinic", "fhir_base_url": sandbox.fhir_base("clinic"), "client_id": "portal-test"}
    return HealthSystem.objects.create(**(values | fields))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def approve(authorize_url: str, patient: str) -> str:
    """Choose the patient on the health system's page and allow; the URL it sends the browser back to."""
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode({"patient": patient, "decision": "allow"}).encode()
    with pytest.raises(urllib.error.HTTPError) as answer:  # redirects are not followed: they surface as errors
        opener.open(urllib.request.Request(authorize_url, data=body, method="POST"), timeout=5)
    assert answer.value.code in (302, 303), answer.value.read()
    return str(answer.value.headers["Location"])


def start_sign_in(client: Client, system: HealthSystem) -> str:
    """Press Connect (or Sign in again): the health system's authorize URL."""
    started = client.post(reverse("records:connect", args=[system.pk]))
    assert started.status_code == 200, started.content
    return str(started.context["authorize_url"])


def sign_in(client: Client, system: HealthSystem, patient: str = "pat-1", *, run_tasks: bool = False) -> Any:
    """The whole round trip; with run_tasks the first sync runs (the eager_tasks fixture must be on)."""
    back = approve(start_sign_in(client, system), patient)
    with TestCase.captureOnCommitCallbacks(execute=run_tasks):
        response = client.get(back.replace("http://testserver", ""))
    return response
