"""API tokens expire, show when they were made, last used and when they stop, and end at once when asked."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from tests.conftest import World, sign_in


def _make_token(client: Client, name: str = "My spreadsheet", **extra: object) -> tuple[ApiToken, str, str]:
    page = client.post(reverse("api_tokens"), {"name": name, **extra}).content.decode()
    token = re.search(r'id="new-token">(fhp_[A-Za-z0-9_\-]+)<', page).group(1)
    return ApiToken.objects.get(name=name), token, page


def _me(token: str) -> int:
    return Client().get(reverse("api-me"), headers={"authorization": f"Bearer {token}"}).status_code


# A refused token answers 401 (the bearer scheme is the API's first authenticator: WWW-Authenticate: Bearer).
REFUSED = (401,)


def _token_row(page: str, name: str) -> str:
    return next(row for row in page.split("<tr>") if f"<td>{name}</td>" in row)


def test_the_lifetime_is_chosen_when_the_token_is_made(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    form = client.get(reverse("api_tokens")).content.decode()
    assert re.search(r'<input[^>]*value="90"[^>]*checked', form)  # 90 days unless chosen otherwise
    short, _token, _page = _make_token(client, "Short", lifetime_days="30")
    default, _token, _page = _make_token(client, "Default")
    year, _token, _page = _make_token(client, "Year", lifetime_days="365")
    for row, days in ((short, 30), (default, 90), (year, 365)):
        assert abs(row.expires_at - (row.created_at + timedelta(days=days))) < timedelta(seconds=1)
    refused = client.post(reverse("api_tokens"), {"name": "Forever", "lifetime_days": "36500"})
    assert refused.status_code == 200
    assert not ApiToken.objects.filter(name="Forever").exists()


def test_an_expired_token_is_refused(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    _row, token, _page = _make_token(client, lifetime_days="30")
    assert _me(token) == 200
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        assert _me(token) in REFUSED
        # A month later the old session has long gone idle: a new one (Redis does not travel in time, so
        # the old session's data would still be there and sign it out as idle).
        client.cookies.clear()
        sign_in(client, world, "patient")
        page = client.get(reverse("api_tokens")).content.decode()
    row = _token_row(page, "My spreadsheet")
    assert "Expired on" in row
    assert "End now" not in row


def test_the_page_shows_when_a_token_was_made_last_used_and_when_it_stops(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    row, token, page = _make_token(client)
    cells = _token_row(page, "My spreadsheet")
    assert "Never" in cells  # not used yet
    assert "End now" in cells
    assert _me(token) == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    cells = _token_row(client.get(reverse("api_tokens")).content.decode(), "My spreadsheet")
    assert "Never" not in cells
    assert cells.count("</td>") == 5  # name, made, last used, works until, end


def test_ending_a_token_makes_it_fail_at_once(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    row, token, _page = _make_token(client)
    assert _me(token) == 200
    client.post(reverse("api_token_revoke", args=[row.pk]))
    assert _me(token) in REFUSED
    cells = _token_row(client.get(reverse("api_tokens")).content.decode(), "My spreadsheet")
    assert "Ended on" in cells
    assert "End now" not in cells


def test_another_person_cannot_end_your_token(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    row, token, _page = _make_token(client)
    working = ApiToken.objects.filter(revoked_at__isnull=True).count()
    other = sign_in(Client(), world, "stranger")
    other.post(reverse("api_token_revoke", args=[row.pk]))
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == working
    assert _me(token) == 200
