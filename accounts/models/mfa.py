"""Second factors for django-otp: TOTP with an encrypted secret, and recovery codes.

django-otp's own TOTP device keeps its secret in plain hex; ours keeps it in
an EncryptedTextField so that a copy of the database alone yields no second
factor. Recovery codes are stored as SHA-256 digests and burn on use.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from accounts.fields import EncryptedTextField


def new_totp_key() -> str:
    return secrets.token_hex(20)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    key = EncryptedTextField(default=new_totp_key, help_text=_("Hex-encoded secret, encrypted at rest."))
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1, help_text=_("Time step of the last accepted code."))

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    @property
    def base32_key(self) -> str:
        return b32encode(self.bin_key).decode("ascii")

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token_text = str(token).strip().replace(" ", "")
        verified = False
        if token_text.isdigit() and len(token_text) == self.digits:
            totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
            totp.time = time.time()
            # last_t + 1: a code that was accepted once is never accepted again.
            verified = totp.verify(int(token_text), self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    @property
    def config_url(self) -> str:
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode({"secret": self.base32_key, "algorithm": "SHA1", "digits": self.digits, "period": self.step})
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


def hash_recovery_code(code: str) -> str:
    normalized = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalized.encode()).hexdigest()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """Ten single-use codes for when the authenticator app is lost."""

    class Meta(Device.Meta):
        verbose_name = _("recovery codes")

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = hash_recovery_code(str(token))
        # Burning the code in one conditional UPDATE keeps it single-use even
        # when two requests race with the same code.
        used = self.codes.filter(digest=digest, used_at__isnull=True).update(used_at=timezone.now())
        if used:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False

    def get_throttle_factor(self) -> int:
        return 1

    @property
    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_unique")]
