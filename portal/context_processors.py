from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.middleware import IDLE_SIGNED_OUT_KEY


def portal(request: HttpRequest) -> dict[str, object]:
    match = getattr(request, "resolver_match", None)
    idle_signed_out = False
    if match is not None and match.url_name == "account_login" and hasattr(request, "session"):
        # Shown once, on the sign-in page that follows an idle sign-out.
        idle_signed_out = bool(request.session.pop(IDLE_SIGNED_OUT_KEY, False))
    return {
        "actor": getattr(request, "actor", None),
        "acting": getattr(request, "acting", None),
        "session_idle_timeout": settings.SESSION_IDLE_TIMEOUT,
        "session_idle_warning": settings.SESSION_IDLE_WARNING,
        "session_idle_minutes": max(1, settings.SESSION_IDLE_TIMEOUT // 60),
        "idle_signed_out": idle_signed_out,
    }
