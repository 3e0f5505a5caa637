"""Sign-in, sign-out, failures and password changes are recorded in the audit log."""

from __future__ import annotations

from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from tests.conftest import World, sign_in
from tests.factories import TEST_PASSWORD


def actions_for(user: User) -> list[str]:
    return list(AuditEvent.objects.filter(actor_user=user).order_by("id").values_list("action", flat=True))


def test_login_logout_and_failed_login_are_recorded(client: Client, world: World) -> None:
    patient = world.user("patient")
    client.post(reverse("account_login"), {"login": patient.email, "password": "wrong-password-123"})
    client.post(reverse("account_login"), {"login": patient.email, "password": TEST_PASSWORD})
    client.post(reverse("account_logout"))
    assert actions_for(patient) == ["auth.login_failed", "auth.login", "auth.logout"]
    login = AuditEvent.objects.get(actor_user=patient, action="auth.login")
    assert login.ip == "127.0.0.1"


def test_a_failed_login_for_an_unknown_address_is_recorded_without_the_address(client: Client, world: World) -> None:
    client.post(reverse("account_login"), {"login": "nobody@example.test", "password": "whatever-123456"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_user is None
    assert "nobody" not in str(event.detail) + event.actor_name


def test_password_change_is_recorded_and_needs_twelve_characters(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    short = client.post(
        reverse("account_change_password"),
        {"oldpassword": TEST_PASSWORD, "password1": "short-pw1", "password2": "short-pw1"},
    )
    assert short.status_code == 200
    assert "at least 12 characters" in short.content.decode()
    new_password = "a-much-longer-passphrase-2026"
    done = client.post(
        reverse("account_change_password"),
        {"oldpassword": TEST_PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    assert "auth.password_changed" in actions_for(world.user("patient"))


def test_sign_up_requires_email_verification_before_login(client: Client, db: object) -> None:
    password = "a-long-enough-passphrase"
    response = client.post(
        reverse("account_signup"),
        {"full_name": "Nora Newcomer", "email": "Nora@Example.test", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    user = User.objects.get(email="nora@example.test")
    assert user.full_name == "Nora Newcomer"
    assert client.get(reverse("home")).status_code == 302  # not signed in until verified
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "confirm" in body.lower()
    # The login is refused until the address is confirmed (allauth sends the mail again).
    client.post(reverse("account_login"), {"login": "nora@example.test", "password": password})
    assert client.get(reverse("home")).status_code == 302


def test_login_is_rate_limited(client: Client, world: World) -> None:
    patient = world.user("patient")
    for n in range(5):
        client.post(reverse("account_login"), {"login": patient.email, "password": f"wrong-{n}-password"})
    # Even the right password is refused while the limit holds (allauth: 5 failures per 5 minutes).
    response = client.post(reverse("account_login"), {"login": patient.email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_password_reset_by_email_link(client: Client, world: World) -> None:
    patient = world.user("patient")
    client.post(reverse("account_reset_password"), {"email": patient.email})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Alex" not in message.body  # no personal or health information in the email
    link = next(word for word in message.body.split() if "/accounts/password/reset/key/" in word)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new_password = "a-fresh-long-passphrase-2026"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.check_password(new_password)
    assert "auth.password_reset" in actions_for(patient)


def test_a_sign_in_refused_by_the_rate_limit_is_recorded_on_the_account(client: Client, world: World) -> None:
    patient = world.user("patient")
    for n in range(6):
        client.post(reverse("account_login"), {"login": patient.email, "password": f"wrong-{n}-password"})
    # Five failures are tried against the password; the sixth is refused by the limit before that.
    assert actions_for(patient) == ["auth.login_failed"] * 5 + ["auth.login_rate_limited"]
    refused = AuditEvent.objects.get(action="auth.login_rate_limited")
    assert refused.ip == "127.0.0.1"
    # Every further refusal is recorded too, the right password included.
    client.post(reverse("account_login"), {"login": patient.email, "password": TEST_PASSWORD})
    assert actions_for(patient)[-1] == "auth.login_rate_limited"
    assert "auth.login" not in actions_for(patient)


def test_a_rate_limited_sign_in_for_an_unknown_address_is_recorded_without_the_address(
    client: Client, world: World
) -> None:
    for n in range(6):
        client.post(reverse("account_login"), {"login": "nobody@example.test", "password": f"wrong-{n}-password"})
    event = AuditEvent.objects.get(action="auth.login_rate_limited")
    assert event.actor_user is None
    assert "nobody" not in str(event.detail) + event.actor_name
