"""The API: the same actor as the pages, session or bearer-token authentication, OpenAPI."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from tests.conftest import World, sign_in


def test_me_with_a_session(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    data = client.get(reverse("api-me")).json()
    assert data["email"] == "patient@example.test"
    assert data["mfa_enabled"] is False
    assert data["acting_for"]["name"] == "Alex Rivera"
    assert data["acting_for"]["is_self"] is True
    assert [s["name"] for s in data["may_act_for"]] == ["Alex Rivera"]
    assert "records" in data["acting_for"]["scopes"]
    assert data["memberships"] == []


def test_me_for_staff_lists_memberships(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    data = client.get(reverse("api-me")).json()
    assert data["acting_for"] is None
    assert data["memberships"] == [
        {"organization": "Riverside Family Clinic", "organization_slug": "riverside", "role": "org_admin"}
    ]


def test_bearer_token_made_on_the_page_works_until_revoked(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    page = client.post(reverse("api_tokens"), {"name": "My spreadsheet"}).content.decode()
    token = re.search(r'id="new-token">(fhp_[A-Za-z0-9_\-]+)<', page).group(1)
    row = ApiToken.objects.get(user=world.user("patient"))
    assert token not in row.digest  # only a digest is stored

    api = Client()
    response = api.get(reverse("api-me"), headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["email"] == "patient@example.test"
    assert api.get(reverse("api-me"), headers={"authorization": "Bearer fhp_wrong"}).status_code in (401, 403)

    client.post(reverse("api_token_revoke", args=[row.pk]))
    assert api.get(reverse("api-me"), headers={"authorization": f"Bearer {token}"}).status_code in (401, 403)


def test_openapi_schema_and_docs(client: Client, world: World) -> None:
    schema = client.get(reverse("api-schema"), {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/me/" in paths
    docs = client.get(reverse("api-docs")).content.decode()
    assert "swagger" in docs.lower()
    assert "cdn" not in docs.lower()  # served from our own static files
