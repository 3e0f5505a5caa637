"""Two-step verification: enrolment, the step after the password, recovery codes, removal, and the staff gate."""

from __future__ import annotations

import re
import time
from binascii import unhexlify

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.models import AuditEvent, RecoveryCode, TOTPDevice
from tests.conftest import World, sign_in
from tests.factories import TEST_PASSWORD, TOTP_KEY_HEX


def totp_code(key_hex: str, *, offset_steps: int = 0) -> str:
    totp = TOTP(unhexlify(key_hex), step=30, digits=6)
    totp.time = time.time() + 30 * offset_steps
    return f"{totp.token():06d}"


def password_login(client: Client, email: str) -> None:
    response = client.post(reverse("account_login"), {"login": email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content[:500]


def enrol(client: Client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("mfa_setup"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the QR code, inline
    typed_key = re.search(r'id="setup-key">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(confirmed=False)
    assert typed_key == device.base32_key
    response = client.post(reverse("mfa_setup"), {"code": totp_code(device.key)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    device.refresh_from_db()
    return device, codes


def test_enrolment_with_qr_and_typed_key_gives_ten_recovery_codes(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    assert "Set up two-step verification" in client.get(reverse("home")).content.decode()
    device, codes = enrol(client)
    assert device.confirmed
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert RecoveryCode.objects.filter(device__user=world.user("patient")).count() == 10
    # Only digests are stored.
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()
    assert AuditEvent.objects.filter(action="mfa.enabled", actor_user=world.user("patient")).exists()
    # The offer disappears once it is on.
    assert "Set up two-step verification" not in client.get(reverse("home")).content.decode()


def test_a_wrong_first_code_does_not_enable_anything(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    client.get(reverse("mfa_setup"))
    response = client.post(reverse("mfa_setup"), {"code": "000000"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=world.user("patient"), confirmed=True).exists()


def test_login_asks_for_the_second_factor_before_anything_else(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    device, _codes = enrol(client)
    client.post(reverse("account_logout"))

    password_login(client, "patient@example.test")
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa_verify"))
    assert client.get(reverse("api-me")).status_code == 403

    wrong = client.post(reverse("mfa_verify"), {"code": "123456", "next": "/"})
    assert "did not work" in wrong.content.decode()
    time.sleep(1.1)  # django-otp's throttle: one second after the first wrong code
    right = client.post(reverse("mfa_verify"), {"code": totp_code(device.key, offset_steps=1), "next": "/"})
    assert right.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    actions = list(AuditEvent.objects.filter(actor_user=world.user("patient")).values_list("action", flat=True))
    assert "auth.mfa_failed" in actions
    assert "auth.mfa_verified" in actions


def test_a_totp_code_works_only_once(client: Client, world: World) -> None:
    sign_in(client, world, "staff_unverified")
    code = totp_code(TOTP_KEY_HEX)
    assert client.post(reverse("mfa_verify"), {"code": code}).status_code == 302
    other = Client()
    sign_in(other, world, "staff_unverified")
    response = other.post(reverse("mfa_verify"), {"code": code})
    assert response.status_code == 200  # refused: already used


def test_recovery_codes_are_single_use(client: Client, world: World) -> None:
    sign_in(client, world, "patient")
    _device, codes = enrol(client)
    client.post(reverse("account_logout"))

    password_login(client, "patient@example.test")
    assert client.post(reverse("mfa_verify"), {"code": codes[0].upper()}).status_code == 302
    client.post(reverse("account_logout"))

    password_login(client, "patient@example.test")
    reused = client.post(reverse("mfa_verify"), {"code": codes[0]})
    assert reused.status_code == 200
    time.sleep(1.1)  # django-otp's throttle: one second after the first wrong code
    assert client.post(reverse("mfa_verify"), {"code": codes[1]}).status_code == 302
    assert AuditEvent.objects.filter(action="auth.recovery_code_used").count() == 2


def test_removal_needs_the_password_again(client: Client, world: World) -> None:
    password_login(client, "patient@example.test")
    _device, _codes = enrol(client)
    # Make the sign-in old enough that allauth asks again.
    session = client.session
    session["account_authentication_methods"] = [
        {**m, "at": m["at"] - 3600} for m in session.get("account_authentication_methods", [])
    ]
    session.save()

    response = client.post(reverse("mfa_remove"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert TOTPDevice.objects.filter(user=world.user("patient"), confirmed=True).exists()

    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    response = client.post(reverse("mfa_remove"))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.user("patient")).exists()
    assert not RecoveryCode.objects.filter(device__user=world.user("patient")).exists()
    assert AuditEvent.objects.filter(action="mfa.removed", actor_user=world.user("patient")).exists()


@pytest.mark.parametrize("url_name", ["staff_home", "org_members"])
def test_staff_without_a_device_are_sent_to_set_one_up(client: Client, world: World, url_name: str) -> None:
    sign_in(client, world, "staff_no_mfa")
    kwargs = {"org_slug": "riverside"} if url_name == "org_members" else {}
    response = client.get(reverse(url_name, kwargs=kwargs), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_setup"))


def test_the_django_admin_is_not_there_for_people_who_are_not_admin_staff(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    assert client.get(reverse("admin:index"), follow=True).status_code == 404


def test_staff_pass_the_gate_after_enrolling_in_this_session(client: Client, world: World) -> None:
    sign_in(client, world, "staff_no_mfa")
    enrol(client)
    assert client.get(reverse("staff_home")).status_code == 200
    assert client.get(reverse("staff_roster", args=["riverside"])).status_code == 200


def test_platform_admin_reaches_django_admin_only_when_verified(client: Client, world: World) -> None:
    client.force_login(world.user("platform_admin"))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa_verify"))
    client.post(reverse("mfa_verify"), {"code": totp_code(TOTP_KEY_HEX)})
    assert client.get(reverse("admin:index")).status_code == 200
