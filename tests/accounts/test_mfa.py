"""Two-step verification: enrolment, the step after the password, recovery codes, removal, and the staff gate."""

from __future__ import annotations

import re
import threading
import time
from binascii import unhexlify

import pytest
from django.db import close_old_connections
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.models import AuditEvent, RecoveryCode, RecoveryCodeDevice, TOTPDevice
from accounts.models.mfa import hash_recovery_code
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


def _recovery_device(world: World, persona: str, code: str) -> RecoveryCodeDevice:
    device = RecoveryCodeDevice.objects.create(user=world.user(persona), name="Recovery codes", confirmed=True)
    RecoveryCode.objects.create(device=device, digest=hash_recovery_code(code))
    return device


def test_a_totp_code_is_refused_by_a_second_request_holding_the_device_from_before(world: World) -> None:
    user = world.user("staff_unverified")
    # Two requests load the same device before either has used the code.
    first = TOTPDevice.objects.get(user=user)
    second = TOTPDevice.objects.get(user=user)
    code = totp_code(TOTP_KEY_HEX)
    assert first.verify_token(code)
    assert second.last_t == -1  # still the old view of the device
    assert not second.verify_token(code)
    # The refusal did not write its stale last_t back: the code stays used.
    stored = TOTPDevice.objects.get(user=user)
    assert stored.last_t == first.last_t
    assert stored.throttling_failure_count == 1
    time.sleep(1.1)  # django-otp's throttle: one second after the first wrong code
    assert not TOTPDevice.objects.get(user=user).verify_token(code)


def test_a_recovery_code_is_refused_by_a_second_request_holding_the_device_from_before(world: World) -> None:
    _recovery_device(world, "staff_unverified", "abcde-fghjk")
    first = RecoveryCodeDevice.objects.get(user=world.user("staff_unverified"))
    second = RecoveryCodeDevice.objects.get(user=world.user("staff_unverified"))
    assert first.verify_token("abcde-fghjk")
    assert not second.verify_token("abcde-fghjk")


def _post_at_once(clients: list[Client], code: str) -> list[int]:
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def post(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            statuses[index] = clients[index].post(reverse("mfa_verify"), {"code": code}).status_code
        finally:
            close_old_connections()
            db_connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.postgres
@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="concurrent requests need a shared database")
@pytest.mark.parametrize("kind", ["app code", "recovery code"])
def test_one_code_posted_by_four_sessions_at_once_lets_exactly_one_in(
    transactional_db: None, world: World, kind: str
) -> None:
    if kind == "app code":
        code = totp_code(TOTP_KEY_HEX)
    else:
        code = "mnpqr-stuvw"
        _recovery_device(world, "staff_unverified", code)
    clients = [sign_in(Client(), world, "staff_unverified") for _ in range(4)]
    statuses = _post_at_once(clients, code)
    assert sorted(statuses) == [200, 200, 200, 302], statuses  # 302: verified; 200: the form again, refused
    verified = "auth.mfa_verified" if kind == "app code" else "auth.recovery_code_used"
    assert AuditEvent.objects.filter(action=verified, actor_user=world.user("staff_unverified")).count() == 1
