from __future__ import annotations

from binascii import unhexlify
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_LOGINS, DEMO_TOTP_KEY_BASE32, DEMO_TOTP_KEY_HEX
from accounts.models import Enrollment, Membership, Organization, Patient, TOTPDevice, User


def _snapshot() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (User, Organization, Membership, Patient, Enrollment, TOTPDevice))


def test_seed_demo_is_idempotent_and_refused_with_debug_off(db: object, settings: object) -> None:
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", "--force", stdout=StringIO())
    first = _snapshot()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert _snapshot() == first
    assert first[:2] == (8, 2)


def test_demo_people_and_devices(db: object, client: Client, settings: object) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    assert {o.name for o in Organization.objects.all()} == {"Riverside Family Clinic", "Lakeside Pediatrics"}
    from base64 import b32encode

    assert b32encode(unhexlify(DEMO_TOTP_KEY_HEX)).decode() == DEMO_TOTP_KEY_BASE32
    for login in DEMO_LOGINS:
        user = User.objects.get(email=login.email)
        assert user.check_password("demo-portal-2026")
        assert TOTPDevice.objects.filter(user=user, confirmed=True).exists() == login.totp
    assert User.objects.get(email="platform@demo.test").is_platform_admin
    assert Membership.objects.filter(user__email="admin@riverside.demo.test", role="org_admin").exists()
    # Every demo login can sign in with the shared password.
    response = client.post(reverse("account_login"), {"login": "patient@demo.test", "password": "demo-portal-2026"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
