"""Enrolling, using and removing second factors."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import django_otp
from django.db import transaction

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.models import RecoveryCode, RecoveryCodeDevice, TOTPDevice, User
from accounts.models.mfa import hash_recovery_code

if TYPE_CHECKING:
    from django.http import HttpRequest

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (i/l/1, o/0)


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def seconds_until_next_attempt(user: User) -> int:
    """How long the throttle makes this person wait before the next code is checked (0: now)."""
    from django.utils import timezone

    waits = []
    for device in (confirmed_totp_device(user), RecoveryCodeDevice.objects.filter(user=user).first()):
        if device is not None and device.throttling_failure_timestamp is not None:
            delay = device.get_throttle_factor() * (2 ** (device.throttling_failure_count - 1))
            waits.append(delay - (timezone.now() - device.throttling_failure_timestamp).total_seconds())
    return max(0, int(max(waits, default=0) + 0.999))


def has_mfa(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def start_totp_enrolment(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed authenticator for the set-up page (replacing any earlier attempt)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=hash_recovery_code(c)) for c in codes)
    return codes


def confirm_totp_enrolment(*, user: User, device: TOTPDevice, token: str, request: HttpRequest) -> list[str] | None:
    """Confirm the authenticator with a first code; returns the new recovery codes, or None."""
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(token):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        record_audit_event(
            action=AuditAction.MFA_ENABLED,
            user=user,
            request=request,
            basis="self",
            object_type="user",
            object_id=user.pk,
        )
    django_otp.login(request, device)
    return codes


def regenerate_recovery_codes(*, user: User, request: HttpRequest) -> list[str]:
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record_audit_event(
            action=AuditAction.RECOVERY_CODES_REPLACED,
            user=user,
            request=request,
            basis="self",
            object_type="user",
            object_id=user.pk,
        )
    return codes


def remove_mfa(*, user: User, request: HttpRequest) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCodeDevice.objects.filter(user=user).delete()
        record_audit_event(
            action=AuditAction.MFA_REMOVED,
            user=user,
            request=request,
            basis="self",
            object_type="user",
            object_id=user.pk,
        )
    # The session is no longer verified by a device that is gone.
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    request.user.otp_device = None  # type: ignore[union-attr]


def verify_second_factor(*, user: User, token: str, request: HttpRequest) -> bool:
    """Check a code from the authenticator app, or else a recovery code, and mark the session verified."""
    token = token.strip().replace(" ", "")
    # Six digits is an app code; anything else is a recovery code. Trying only
    # the matching device keeps a typo in one from throttling the other.
    if token.isdigit():
        totp = confirmed_totp_device(user)
        if totp is not None and totp.verify_token(token):
            django_otp.login(request, totp)
            record_audit_event(action=AuditAction.MFA_VERIFIED, user=user, request=request, basis="self")
            return True
        record_audit_event(action=AuditAction.MFA_FAILED, user=user, request=request, basis="self")
        return False
    recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    if recovery is not None and recovery.verify_token(token):
        django_otp.login(request, recovery)
        record_audit_event(
            action=AuditAction.RECOVERY_CODE_USED,
            user=user,
            request=request,
            basis="self",
            detail={"codes_left": recovery.remaining},
        )
        return True
    record_audit_event(action=AuditAction.MFA_FAILED, user=user, request=request, basis="self")
    return False
