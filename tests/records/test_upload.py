"""Uploading a FHIR file: checked on the form, kept out of the web root, imported by the worker, followed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from records import imports
from records.models import FhirResource, ImportIssue, ImportRun, RunStatus
from records.tasks import import_upload_task
from tests.conftest import World, sign_in
from tests.records.test_pipeline import hba1c


def fhir_file(*resources: dict[str, Any], name: str = "labs.json") -> SimpleUploadedFile:
    document: Any = (
        resources[0]
        if len(resources) == 1
        else {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )
    return SimpleUploadedFile(name, json.dumps(document).encode(), content_type="application/json")


def stored_uploads() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "records-uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def form_for(client: Client) -> dict[str, str]:
    """The hidden fields of the upload form as shown (the one-time key and the person it is for)."""
    form = client.get(reverse("records:upload")).context["form"]
    return {"key": str(form.initial["key"]), "subject": str(form.initial["subject"])}


def test_the_worker_imports_the_file_and_the_run_page_shows_exact_counts(
    client: Client, world: World, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(client, world, "caregiver_full")  # acting for Rosa under a power of attorney
    bad = {"resourceType": "Observation", "id": "bad id"}
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            reverse("records:upload"),
            {"file": fhir_file(hba1c(7.4), hba1c(6.1, rid="a1c-2"), bad), "label": "", **form_for(client)},
        )
    run = ImportRun.objects.get()
    assert posted.status_code == 302
    assert posted["Location"] == reverse("records:upload_run", args=[run.pk])
    page = client.get(posted["Location"]).content.decode()
    assert "2 new, 0 updated, 0 already here." in page
    assert "1 item could not be read and was left out" in page
    assert "A resource has a missing or invalid id." in page
    assert (run.status, run.new, run.failed, run.progress_done, run.progress_total) == (RunStatus.SUCCEEDED, 2, 1, 1, 1)
    assert FhirResource.objects.filter(patient=world.people["rosa"]).count() == 2
    event = AuditEvent.objects.get(action="records.imported")
    assert (event.subject_patient, event.basis, event.actor_user) == (
        world.people["rosa"],
        "power_of_attorney",
        world.user("caregiver_full"),
    )
    assert event.detail["new"] == 2
    assert run.upload.name == ""
    assert stored_uploads() == []  # deleted once imported


def test_without_a_worker_the_run_waits_and_the_same_form_posted_again_finds_it(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    hidden = form_for(client)
    first = client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **hidden})
    again = client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **hidden})  # a refresh
    run = ImportRun.objects.get()
    assert first["Location"] == again["Location"] == reverse("records:upload_run", args=[run.pk])
    assert run.status == RunStatus.QUEUED
    page = client.get(first["Location"]).content.decode()
    assert "The file is waiting its turn to be read." in page
    assert 'http-equiv="refresh"' in page  # without JavaScript the page reloads itself
    partial = client.get(first["Location"], headers={"HX-Request": "true"}).content.decode()
    assert partial.startswith('<div id="upload-status"')
    assert 'hx-trigger="every 3s"' in partial
    # The file waits outside the web root under a random name (its own name never reaches the disk).
    (stored,) = stored_uploads()
    assert stored.name != "labs.json"
    assert stored.suffix == ".json"
    assert run.upload.name == f"records-uploads/{stored.name}"
    assert not FhirResource.objects.exists()
    # A form shown anew carries a new key: a new run.
    client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **form_for(client)})
    assert ImportRun.objects.count() == 2


def test_a_file_that_is_not_fhir_is_refused_on_the_form(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    text = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    page = client.post(reverse("records:upload"), {"file": text, **form_for(client)})
    assert page.status_code == 200
    assert "The file is not valid JSON" in page.content.decode()
    no_type = SimpleUploadedFile("data.json", b'{"hello": "world"}', content_type="application/json")
    page = client.post(reverse("records:upload"), {"file": no_type, **form_for(client)})
    assert "not a FHIR resource or Bundle" in page.content.decode()
    assert not ImportRun.objects.exists()
    assert stored_uploads() == []


def test_a_form_shown_for_someone_else_is_refused(client: Client, world: World) -> None:
    """The form was shown while acting for Theo; the caregiver has since switched to Rosa in another tab."""
    sign_in(client, world, "caregiver_full")
    hidden = {**form_for(client), "subject": str(world.people["teen"].pk)}
    page = client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **hidden})
    assert "You switched to another person" in page.content.decode()
    assert not ImportRun.objects.exists()
    # The form shown again is for Rosa, with a new key: choosing the file again works.
    shown = page.context["form"]
    again = {"key": shown["key"].value(), "subject": shown["subject"].value()}
    assert again["subject"] == str(world.people["rosa"].pk)
    assert again["key"] != hidden["key"]
    assert client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **again}).status_code == 302
    assert ImportRun.objects.get().source.patient == world.people["rosa"]


def test_a_form_without_its_key_is_shown_anew(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    page = client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), "subject": "x"})
    assert "This form has expired" in page.content.decode()
    shown = page.context["form"]
    assert shown["subject"].value() == str(world.patient_record.pk)
    assert shown["key"].value()
    assert not ImportRun.objects.exists()


def rosa_run(world: World, client: Client) -> ImportRun:
    sign_in(client, world, "caregiver_full")
    client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **form_for(client)})
    client.logout()
    return ImportRun.objects.get()


def test_the_run_page_is_for_those_acting_for_the_person_with_the_records_scope(client: Client, world: World) -> None:
    run = rosa_run(world, client)
    url = reverse("records:upload_run", args=[run.pk])
    assert sign_in(client, world, "caregiver_full").get(url).status_code == 200
    missing = reverse("records:upload_run", args=[run.pk + 1000])
    assert client.get(missing).status_code == 404


@pytest.mark.parametrize("persona", ["stranger", "patient", "parent_of_teen", "caregiver_without_records"])
def test_the_run_page_answers_404_to_everyone_else(client: Client, world: World, persona: str) -> None:
    run = rosa_run(world, client)
    if persona == "caregiver_without_records":  # acting for Rosa, but for messages and appointments only
        grant = world.grants["caregiver_full"]
        grant.scopes = ["messaging", "scheduling"]
        grant.save()
        persona = "caregiver_full"
    sign_in(client, world, persona)
    assert client.get(reverse("records:upload_run", args=[run.pk])).status_code == 404


def test_the_task_delivered_again_does_nothing(
    client: Client, world: World, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(client, world, "patient")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **form_for(client)})
    run = ImportRun.objects.get()
    assert (run.status, run.new) == (RunStatus.SUCCEEDED, 1)
    assert import_upload_task(run.pk) == {"status": "succeeded", "new": 1, "changed": 0, "unchanged": 0, "failed": 0}
    run.refresh_from_db()
    assert (run.new, run.unchanged) == (1, 0)
    assert AuditEvent.objects.filter(action="records.imported").count() == 1


class WorkerLostError(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


def test_a_run_cut_short_carries_on_from_the_first_page_not_written(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr("records.ingest.PAGE_SIZE", 2)
    sign_in(client, world, "patient")
    resources = [hba1c(6.0 + n / 10, rid=f"a1c-{n}") for n in range(5)]  # three pages of 2, 2 and 1
    client.post(reverse("records:upload"), {"file": fhir_file(*resources), **form_for(client)})
    run = ImportRun.objects.get()
    real_write_page = imports.write_page
    calls: list[int] = []

    def dies_on_the_second_page(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise WorkerLostError
        return real_write_page(*args, **kwargs)

    monkeypatch.setattr(imports, "write_page", dies_on_the_second_page)
    with pytest.raises(WorkerLostError):
        import_upload_task(run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total, run.new) == (RunStatus.RUNNING, 1, 3, 2)
    assert FhirResource.objects.count() == 2

    monkeypatch.setattr(imports, "write_page", real_write_page)
    with django_capture_on_commit_callbacks(execute=True):
        import_upload_task(run.pk)  # the broker delivers the task again
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.new, run.unchanged) == (RunStatus.SUCCEEDED, 3, 5, 0)
    assert FhirResource.objects.count() == 5
    assert stored_uploads() == []


def test_a_page_is_counted_once_even_if_two_deliveries_race(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **form_for(client)})
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    behind = ImportRun.objects.get(pk=run.pk)  # a second worker's copy, loaded before the first one wrote
    assert imports._write_counted_page(run, 0, [hba1c(7.0)], [])
    assert not imports._write_counted_page(behind, 0, [hba1c(7.0)], [])
    run.refresh_from_db()
    assert (run.progress_done, run.new, run.unchanged) == (1, 1, 0)


def test_a_run_whose_file_is_gone_fails_with_a_reason(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.post(reverse("records:upload"), {"file": fhir_file(hba1c(7.0)), **form_for(client)})
    for stored in stored_uploads():
        stored.unlink()
    run = ImportRun.objects.get()
    import_upload_task(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.upload.name == ""
    page = client.get(reverse("records:upload_run", args=[run.pk])).content.decode()
    assert "The uploaded file is no longer here." in page
    assert 'hx-get="' not in page  # finished: no more polling


def test_issues_are_listed_on_the_run_page(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    lines = "\n".join([json.dumps(hba1c(7.0)), "{broken", json.dumps(hba1c(7.1, rid="b"))])
    upload = SimpleUploadedFile("export.ndjson", lines.encode(), content_type="application/x-ndjson")
    client.post(reverse("records:upload"), {"file": upload, **form_for(client)})
    run = ImportRun.objects.get()
    assert run.upload.name.endswith(".ndjson")  # the reader's hint survives the random name
    import_upload_task(run.pk)
    assert ImportIssue.objects.get(run=run).message.startswith("Line 2 is not valid JSON")
    page = client.get(reverse("records:upload_run", args=[run.pk])).content.decode()
    assert "2 new, 0 updated, 0 already here." in page
    assert "Line 2 is not valid JSON" in page
    assert "Files added lately" in client.get(reverse("records:upload")).content.decode()
