"""Idle sessions end on the server, whether or not the page's script runs."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.conftest import World, sign_in


def test_a_session_idle_past_the_limit_is_signed_out(client: Client, world: World, settings: object) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, world, "patient")
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200  # activity resets the clock
        traveller.shift(timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=15, seconds=1))
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
        login_page = client.get(response.url).content.decode()
        assert "no activity" in login_page
        # Re-authentication is required: the old session is gone for good.
        assert client.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.idle_logout", actor_user=world.user("patient")).count() == 1


def test_the_limit_is_configurable(client: Client, world: World, settings: object) -> None:
    settings.SESSION_IDLE_TIMEOUT = 120
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, world, "patient")
        client.get(reverse("home"))
        traveller.shift(timedelta(seconds=121))
        assert client.get(reverse("home")).status_code == 302


def test_pages_carry_the_warning_for_the_script(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    html = client.get(reverse("home")).content.decode()
    assert 'data-idle-timeout="900"' in html
    assert 'data-idle-warning="60"' in html
    assert 'id="session-warning"' in html
    assert 'role="alertdialog"' in html


def test_stay_signed_in_works_without_javascript(client: Client, world: World) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, world, "patient")
        client.get(reverse("home"))
        traveller.shift(timedelta(minutes=14))
        response = client.post(reverse("session_keepalive"), {"next": "/"})
        assert response.status_code == 302
        traveller.shift(timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200


def test_activity_is_written_at_most_every_resolution(client: Client, world: World, settings: object) -> None:
    """Pages a few seconds apart do not each write the session; the limit then comes at most that much early."""
    from django.contrib.sessions.models import Session

    from accounts.middleware import LAST_ACTIVITY_KEY

    def stored() -> float:
        return float(Session.objects.get().get_decoded()[LAST_ACTIVITY_KEY])

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, world, "patient")
        client.get(reverse("home"))
        first = stored()
        traveller.shift(timedelta(seconds=settings.SESSION_ACTIVITY_RESOLUTION - 1))
        client.get(reverse("home"))
        assert stored() == first
        traveller.shift(timedelta(seconds=2))
        client.get(reverse("home"))
        assert stored() == first + settings.SESSION_ACTIVITY_RESOLUTION + 1
