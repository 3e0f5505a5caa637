"""The shell's pages: front door, dashboard, health checks, security headers, query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from kombu import Connection

from accounts.models import Enrollment, Membership, Role
from portal.celery import app as celery_app
from tests.conftest import World, sign_in
from tests.factories import EnrollmentFactory, MembershipFactory, OrganizationFactory, PatientFactory
from tests.query_counts import count_queries


def test_login_page_is_the_front_door(client: Client, db: object) -> None:
    html = client.get(reverse("account_login")).content.decode()
    assert "One place for your family" in html
    assert "Create an account" in html


def test_dashboard_shows_name_subjects_and_mfa_offer(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    html = client.get(reverse("home")).content.decode()
    assert "Hello, Alex" in html
    assert "Alex Rivera" in html
    assert "Set up two-step verification" in html
    assert "connect the clinics and hospitals" in html  # the empty state says what comes next


def test_dashboard_empty_state_for_someone_without_a_record(client: Client, world: World) -> None:
    sign_in(client, world, "stranger")
    html = client.get(reverse("home")).content.decode()
    assert "You do not have a health record here yet." in html
    response = client.post(
        reverse("own_record_start"), {"given_name": "Sam", "family_name": "Stranger", "birth_date": "1990-04-21"}
    )
    assert response.status_code == 302
    assert "Sam Stranger" in client.get(reverse("home")).content.decode()


def test_own_record_form_explains_bad_input_and_keeps_it(client: Client, world: World) -> None:
    sign_in(client, world, "stranger")
    response = client.post(
        reverse("own_record_start"), {"given_name": "Sam", "family_name": "", "birth_date": "2999-01-01"}
    )
    html = response.content.decode()
    assert "This field is required." in html
    assert "cannot be in the future" in html
    assert 'value="Sam"' in html


def test_staff_dashboard_lists_work(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    html = client.get(reverse("home")).content.decode()
    assert "Riverside Family Clinic: Organization admin" in html


def test_security_headers_and_no_inline_script(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "htmx and the page script are loaded"
    assert all("src=" in tag for tag in scripts), scripts
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert "//" not in "".join(re.findall(r'src="([^"]+)"', html)), "no third-party scripts"


def test_healthz_and_readyz(client: Client, db: object) -> None:
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
    ready = client.get(reverse("readyz"))
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_an_unreachable_broker(client: Client, db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broker that answers nobody: nothing listens on port 9 of this machine.
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:9/0"))
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unavailable"


def test_language_switch_is_remembered_on_the_account(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.post(reverse("set_language"), {"language": "es", "next": "/"})
    world.user("patient").refresh_from_db()
    assert world.user("patient").language == "es"
    assert '<html lang="es">' in client.get(reverse("home")).content.decode()


def test_dashboard_query_count_is_pinned(client: Client, world: World) -> None:
    sign_in(client, world, "org_admin")
    url = reverse("home")
    baseline = count_queries(client, url)
    # user (with their own record and whether they hold a grant, none here: proxy.backends), OTP device,
    # memberships, MFA status; the session is not written again within SESSION_ACTIVITY_RESOLUTION of the
    # previous request (accounts.middleware.IdleTimeoutMiddleware)
    assert baseline == 4, f"dashboard made {baseline} queries"
    for _ in range(5):
        MembershipFactory(user=world.user("org_admin"), organization=OrganizationFactory(), role=Role.CLINICIAN)
    assert Membership.objects.filter(user=world.user("org_admin")).count() == 6
    assert count_queries(client, url) == baseline


def test_staff_roster_query_count_does_not_grow_with_patients(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    url = reverse("staff_roster", args=["riverside"])
    baseline = count_queries(client, url)
    for _ in range(30):
        EnrollmentFactory(patient=PatientFactory(), organization=world.org_here)
    html = client.get(url).content.decode()
    assert html.count("<tr>") == 1 + Enrollment.objects.filter(organization=world.org_here).count()
    assert count_queries(client, url) == baseline


def test_pages_speak_spanish(client: Client, world: World) -> None:
    client.post(reverse("set_language"), {"language": "es", "next": "/"})
    html = client.get(reverse("account_login")).content.decode()
    assert '<html lang="es">' in html
    assert "Iniciar sesión" in html
    assert "Portal de Salud Familiar" in html
    sign_in(client, world, "patient")
    assert "Configurar la verificación en dos pasos" in client.get(reverse("home")).content.decode()
