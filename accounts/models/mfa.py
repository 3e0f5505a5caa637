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
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from accounts.fields import EncryptedTextField


def new_totp_key() -> str:
    return secrets.token_hex(20)


class _ThrottlingInPlace(ThrottlingMixin):
    """django-otp's throttle, written with targeted UPDATEs.

    Its own methods save() every field of a device loaded earlier in the
    request, which would put back a last_t or a code that a concurrent
    request has just used, and lose concurrent failures from the count.
    """

    class Meta:
        abstract = True

    def throttle_increment(self, commit: bool = True) -> None:
        now = timezone.now()
        self.throttling_failure_timestamp = now
        self.throttling_failure_count += 1
        if commit:
            type(self)._default_manager.filter(pk=self.pk).update(
                throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=now
            )

    def throttle_reset(self, commit: bool = True) -> None:
        self.throttling_failure_timestamp = None  # type: ignore[assignment]  # null=True in django-otp
        self.throttling_failure_count = 0
        if commit:
            type(self)._default_manager.filter(pk=self.pk).update(
                throttling_failure_count=0, throttling_failure_timestamp=None
            )


class TOTPDevice(TimestampMixin, _ThrottlingInPlace, Device):
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
        if token_text.isdigit() and len(token_text) == self.digits:
            totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
            totp.time = time.time()
            # last_t + 1: a code that was accepted once is never accepted again.
            if totp.verify(int(token_text), self.tolerance, self.last_t + 1) and self._claim_time_step(
                totp.t(), totp.drift
            ):
                return True
        self.throttle_increment()
        return False

    def _claim_time_step(self, t: int, drift: int) -> bool:
        """Move last_t to t in one conditional UPDATE; False if another request got there first.

        The check in Python above saw this instance's last_t, which may be
        stale: two sign-ins with the same code each loaded the device before
        either saved. The database decides which one used the code.
        """
        now = timezone.now()
        claimed = (
            type(self)
            ._default_manager.filter(pk=self.pk, last_t__lt=t)
            .update(
                last_t=t,
                drift=drift,
                throttling_failure_count=0,
                throttling_failure_timestamp=None,
                last_used_at=now,
            )
        )
        if claimed:
            self.last_t, self.drift, self.last_used_at = t, drift, now
            self.throttling_failure_count = 0
            self.throttling_failure_timestamp = None  # type: ignore[assignment]  # null=True in django-otp
        return bool(claimed)

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


class RecoveryCodeDevice(_ThrottlingInPlace, Device):
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
