"""Audit receivers for sign-in events, from Django and from allauth."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed, password_changed, password_reset, password_set
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.middleware import HAS_MFA_KEY
from accounts.models import TOTPDevice, User


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[HAS_MFA_KEY] = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    record_audit_event(action=AuditAction.LOGIN, user=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        idle = bool(getattr(request, "portal_idle_logout", False))
        record_audit_event(action=AuditAction.IDLE_LOGOUT if idle else AuditAction.LOGOUT, user=user, request=request)


def _account_tried(credentials: dict[str, Any]) -> User | None:
    # The attempted address is not stored; a known account gets the event on
    # its own history so that its owner can see the attempt.
    email = str(credentials.get("email") or credentials.get("username") or "").strip().lower()
    return User.objects.filter(email=email).first() if email else None


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    record_audit_event(
        action=AuditAction.LOGIN_FAILED, user=_account_tried(credentials), request=request, basis="anonymous"
    )


def audit_login_rate_limited(*, request: HttpRequest | None, credentials: dict[str, Any]) -> None:
    """A sign-in refused by the rate limit before its password was tried (from the allauth adapter)."""
    record_audit_event(
        action=AuditAction.LOGIN_RATE_LIMITED, user=_account_tried(credentials), request=request, basis="anonymous"
    )


def _audit_allauth(action: AuditAction) -> Any:
    def receiver_(sender: Any, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any) -> None:
        if user is None and "email_address" in kwargs:
            user = kwargs["email_address"].user
        record_audit_event(action=action, user=user, request=request)

    return receiver_


_audit_password_changed = _audit_allauth(AuditAction.PASSWORD_CHANGED)
_audit_password_reset = _audit_allauth(AuditAction.PASSWORD_RESET)
_audit_password_set = _audit_allauth(AuditAction.PASSWORD_SET)
_audit_email_confirmed = _audit_allauth(AuditAction.EMAIL_VERIFIED)
password_changed.connect(_audit_password_changed, dispatch_uid="audit_password_changed")
password_reset.connect(_audit_password_reset, dispatch_uid="audit_password_reset")
password_set.connect(_audit_password_set, dispatch_uid="audit_password_set")
email_confirmed.connect(_audit_email_confirmed, dispatch_uid="audit_email_confirmed")
