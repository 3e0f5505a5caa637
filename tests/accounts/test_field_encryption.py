"""Secrets are stored encrypted, and keys can be rotated without losing a value."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from accounts.models import TOTPDevice
from tests.conftest import World
from tests.factories import TOTP_KEY_HEX, TOTPDeviceFactory


def _raw_key_column(device: TOTPDevice) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_the_column_holds_no_plain_text(world: World) -> None:
    device = TOTPDevice.objects.get(user=world.user("staff_here"))
    raw = _raw_key_column(device)
    assert TOTP_KEY_HEX not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert TOTPDevice.objects.get(pk=device.pk).key == TOTP_KEY_HEX


def test_rotation_re_encrypts_every_value_under_the_newest_key(world: World, settings: object) -> None:
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    devices = list(TOTPDevice.objects.all())
    before = {d.pk: _raw_key_column(d) for d in devices}
    new_key = Fernet.generate_key().decode()

    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        out = StringIO()
        call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
        assert f"{len(devices)} values re-encrypted" in out.getvalue()

    # The old key can now be dropped: every value decrypts with the new key alone.
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        for device in devices:
            assert _raw_key_column(device) != before[device.pk]
            assert Fernet(new_key.encode()).decrypt(_raw_key_column(device).encode()).decode() == device.key
            assert TOTPDevice.objects.get(pk=device.pk).key == device.key

    # Without the right key a value cannot be read, and the error says why.
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]), pytest.raises(ImproperlyConfigured, match="rotate"):
        TOTPDevice.objects.get(pk=devices[0].pk)


def test_a_malformed_key_is_a_clear_configuration_error(db: object) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=["not-a-key"]), pytest.raises(ImproperlyConfigured, match="Fernet"):
        TOTPDeviceFactory()
