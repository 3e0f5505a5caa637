"""The staff inbox's API: the same desk, filters and rules as the pages; conflicts are 409."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.actors import actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent
from accounts.scoping import Desk
from messaging import actions
from messaging.models import Message, MessageKind, Thread, ThreadStatus
from tests.conftest import World, create_token_for, sign_in

pytestmark = pytest.mark.django_db


def api(name: str, world: World, thread: str | None = "rosa", slug: str = "riverside") -> str:
    kwargs: dict[str, Any] = {"org_slug": slug}
    if thread is not None:
        kwargs["thread_id"] = world.threads[thread].pk
    return reverse(name, kwargs=kwargs)


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_the_list_filters_and_audits(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    response = client.get(api("api-staff-threads", world, thread=None))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["subject"] for row in rows} == {"Swollen ankles", "Question about my dose", "Refill: Metformin 500 mg"}
    assert AuditEvent.objects.filter(action=AuditAction.MESSAGE_INBOX_VIEWED).count() == 3
    searched = client.get(api("api-staff-threads", world, thread=None) + "?q=ankles").json()["results"]
    assert [row["subject"] for row in searched] == ["Swollen ankles"]
    assert client.get(api("api-staff-threads", world, thread=None) + "?view=nonsense").status_code == 400
    other_pool = world.pools["other"].pk
    assert client.get(api("api-staff-threads", world, thread=None) + f"?pool={other_pool}").status_code == 404


def test_a_thread_with_notes_and_the_panel(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    data = client.get(api("api-staff-thread", world)).json()
    kinds = [m["kind"] for m in data["messages"]]
    assert MessageKind.NOTE in kinds
    assert data["patient_panel"]["name"] == "Rosa Lopez"
    assert data["messages"][0]["attachments"][0]["url"].endswith(f"/files/{world.attachment.pk}/")
    event = AuditEvent.objects.get(action=AuditAction.MESSAGE_THREAD_VIEWED)
    assert event.subject_patient_id == world.people["rosa"].pk


def test_writes(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert post(client, api("api-staff-note", world), {"body": "Check potassium"}).status_code == 201
    assert post(client, api("api-staff-claim", world)).status_code == 200
    admin = world.user("org_admin")
    assigned = post(client, api("api-staff-assign", world), {"assignee": admin.pk})
    assert assigned.status_code == 200
    assert assigned.json()["assigned_to_id"] == admin.pk
    outsider = world.user("staff_other").pk
    assert post(client, api("api-staff-assign", world), {"assignee": outsider}).status_code == 404
    reply = post(client, api("api-staff-reply", world), {"body": "Feet up, please.", "close": True})
    assert reply.status_code == 201
    assert Thread.objects.get(pk=world.threads["rosa"].pk).status == ThreadStatus.CLOSED
    assert post(client, api("api-staff-close", world)).status_code == 409
    assert post(client, api("api-staff-reopen", world)).status_code == 200
    assert post(client, api("api-staff-reply", world), {"body": ""}).status_code == 400


def test_the_second_claim_is_a_conflict_naming_the_holder(client: Client, world: World) -> None:
    admin = actor_for(world.user("org_admin")).at_desk(Desk(world.org_here))
    actions.claim_thread(staff=admin, thread=world.threads["alex"])
    before = Message.objects.count()
    sign_in(client, world, "staff_here")
    response = post(client, api("api-staff-claim", world, thread="alex"))
    assert response.status_code == 409
    assert "Sam Okafor" in response.json()["detail"]
    assert Message.objects.count() == before


def test_a_token_of_staff_with_two_step_verification_works(world: World) -> None:
    _row, token = create_token_for(world.user("staff_here"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(api("api-staff-threads", world, thread=None)).status_code == 200
    assert client.get(api("api-staff-threads", world, thread=None, slug="lakeside")).status_code == 404


def test_staff_elsewhere_get_404(client: Client, world: World) -> None:
    sign_in(client, world, "staff_other")
    assert client.get(api("api-staff-threads", world, thread=None)).status_code == 404
    assert client.get(api("api-staff-thread", world, slug="lakeside")).status_code == 404
    before = Message.objects.count()
    for name in ("api-staff-reply", "api-staff-note", "api-staff-claim", "api-staff-close", "api-staff-reopen"):
        assert post(client, api(name, world, slug="lakeside"), {"body": "x"}).status_code == 404
    assert Message.objects.count() == before


def test_the_schema_describes_the_staff_api(client: Client) -> None:
    schema = client.get(reverse("api-schema") + "?format=json").json()
    assert "/api/v1/staff/{org_slug}/threads/" in schema["paths"]
    assert "/api/v1/staff/{org_slug}/threads/{thread_id}/claim/" in schema["paths"]
