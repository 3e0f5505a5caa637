"""The messages API of the patient's side: /api/v1/patients/{patient_id}/messages/…"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from messaging.models import Attachment, Message, Thread, ThreadRead, Topic
from records.ingest import write_page
from records.models import FhirResource
from tests.conftest import SMALL_PDF, World, create_token_for, sign_in
from tests.messaging.test_patient_messages import EXECUTABLE
from tests.records.record_data import lab


def rosa(world: World) -> str:
    return str(world.people["rosa"].pk)


def threads_url(world: World) -> str:
    return reverse("api-messages", kwargs={"patient_id": rosa(world)})


def thread_url(world: World, thread: Thread) -> str:
    return reverse("api-messages-thread", kwargs={"patient_id": thread.patient_id, "thread_id": thread.pk})


def post_json(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def new_thread(world: World, **more: Any) -> dict[str, Any]:
    return {"care_team": world.pools["here"].pk, "topic": "care", "subject": "Dizzy", "body": "Since Monday.", **more}


def test_a_caregiver_lists_threads_and_care_teams_with_a_token(world: World) -> None:
    _row, token = create_token_for(world.user("caregiver_full"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = client.get(threads_url(world)).json()
    assert {row["subject"] for row in listed["results"]} == {"Swollen ankles", "Refill: Metformin 500 mg"}
    teams = client.get(reverse("api-messages-care-teams", kwargs={"patient_id": rosa(world)})).json()
    assert teams == [
        {
            "id": world.pools["here"].pk,
            "name": "Diabetes care team",
            "description": "",
            "organization": "Riverside Family Clinic",
        }
    ]


def test_start_a_thread_once_with_an_idempotency_key(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    key = str(uuid.uuid4())
    first = post_json(client, threads_url(world), new_thread(world), HTTP_IDEMPOTENCY_KEY=key)
    again = post_json(client, threads_url(world), new_thread(world), HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Thread.objects.filter(subject="Dizzy").count() == 1
    body = first.json()
    assert body["status"] == "waiting_on_staff"
    assert body["reply_due_at"] is not None
    assert body["messages"][0]["on_behalf_of_name"] == "Rosa Lopez"
    bad = post_json(client, threads_url(world), new_thread(world, subject="Other"), HTTP_IDEMPOTENCY_KEY="nope")
    assert bad.status_code == 400


def test_start_a_thread_with_files_and_download_them(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    response = client.post(
        threads_url(world),
        {
            **new_thread(world),
            "files": [SimpleUploadedFile("a.pdf", SMALL_PDF), SimpleUploadedFile("b.pdf", SMALL_PDF)],
        },
    )
    assert response.status_code == 201
    files = response.json()["messages"][0]["attachments"]
    assert [f["name"] for f in files] == ["a.pdf", "b.pdf"]
    download = client.get(files[0]["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == SMALL_PDF


def test_a_refused_file_is_a_400_naming_it_and_nothing_is_stored(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    response = client.post(
        threads_url(world), {**new_thread(world), "files": [SimpleUploadedFile("report.pdf", EXECUTABLE)]}
    )
    assert response.status_code == 400
    assert "report.pdf is not a PDF, JPEG or PNG file" in response.json()["files"][0]
    assert not Thread.objects.filter(subject="Dizzy").exists()
    assert Attachment.objects.count() == 1


def test_a_care_team_elsewhere_and_a_private_thread_for_someone_else_are_refused(client: Client, world: World) -> None:
    sign_in(client, world, "caregiver_full")
    elsewhere = post_json(client, threads_url(world), new_thread(world, care_team=world.pools["other"].pk))
    assert elsewhere.status_code == 400
    assert "care_team" in elsewhere.json()
    private = post_json(client, threads_url(world), new_thread(world, private=True))
    assert private.status_code == 403
    assert not Thread.objects.filter(subject="Dizzy").exists()


def test_read_and_reply_in_a_thread(client: Client, world: World) -> None:
    thread = world.threads["rosa"]
    sign_in(client, world, "caregiver_full")
    read = client.get(thread_url(world, thread))
    assert read.status_code == 200
    bodies = [m["body"] for m in read.json()["messages"]]
    assert "Internal: check her last potassium" not in bodies
    assert ThreadRead.objects.filter(thread=thread, user=world.user("caregiver_full")).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.MESSAGE_THREAD_VIEWED, subject_patient=world.people["rosa"]
    ).exists()
    reply = post_json(
        client, thread_url(world, thread), {"body": "Still swollen", "idempotency_key": str(uuid.uuid4())}
    )
    assert reply.status_code == 201
    assert reply.json()["messages"][-1]["body"] == "Still swollen"
    Thread.objects.filter(pk=thread.pk).update(status="closed")
    closed = post_json(client, thread_url(world, thread), {"body": "And another"})
    assert closed.status_code == 400
    assert not Message.objects.filter(body="And another").exists()


def test_ask_about_a_result_through_the_api(client: Client, world: World) -> None:
    system = world.rosa_connection.health_system
    system.organization = world.org_here
    system.save()
    write_page(world.rosa_connection.source, [lab("rosa-a1c")])
    result = FhirResource.objects.get(resource_id="rosa-a1c")
    sign_in(client, world, "caregiver_full")
    response = post_json(client, threads_url(world), new_thread(world, topic=Topic.RESULTS, result=result.pk))
    assert response.status_code == 201
    assert response.json()["result"] == {"id": result.pk, "name": "Hemoglobin A1c"}
    missing = post_json(client, threads_url(world), new_thread(world, subject="x", result=999999))
    assert missing.status_code == 400
