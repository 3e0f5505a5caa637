"""Request policy: idle expiry, the second-factor step, the actor, and preferences."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.middleware import is_verified

from accounts.models import TOTPDevice

LAST_ACTIVITY_KEY = "portal_last_activity"
IDLE_SIGNED_OUT_KEY = "portal_idle_signed_out"
HAS_MFA_KEY = "portal_has_mfa"

Handler = Callable[[HttpRequest], HttpResponse]
View = TypeVar("View", bound=Callable[..., Any])


class IdleTimeoutMiddleware:
    """Signs a session out after SESSION_IDLE_TIMEOUT seconds without a request.

    Expiry is decided here on the server, so it holds with JavaScript off; the
    page script only warns a minute ahead and offers to stay signed in.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - float(last) > settings.SESSION_IDLE_TIMEOUT:
                setattr(request, "portal_idle_logout", True)  # noqa: B010  (read by the audit receiver)
                logout(request)
                request.session[IDLE_SIGNED_OUT_KEY] = True
            elif last is None or now - float(last) >= settings.SESSION_ACTIVITY_RESOLUTION:
                # Written at most every SESSION_ACTIVITY_RESOLUTION seconds: a page does not pay a session write
                # (an UPDATE and its commit) on every request, and the idle limit is reached at most that early.
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


def session_has_mfa(request: HttpRequest) -> bool:
    if HAS_MFA_KEY not in request.session:
        request.session[HAS_MFA_KEY] = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    return bool(request.session[HAS_MFA_KEY])


@functools.cache
def _paths(url_names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(reverse(name) for name in url_names)


def is_exempt(request: HttpRequest, url_names: tuple[str, ...]) -> bool:
    """Static files and the named pages: what a request policy lets through regardless."""
    return request.path.startswith(settings.STATIC_URL) or request.path in _paths(url_names)


class MFAVerificationMiddleware:
    """Anyone with a second factor must pass it after the password before anything else."""

    EXEMPT_URL_NAMES = ("mfa_verify", "account_logout", "set_language", "healthz", "readyz", "favicon")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not is_verified(user)
            and not is_exempt(request, self.EXEMPT_URL_NAMES)
            and session_has_mfa(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("Two-step verification is needed for this session.")}, status=403)
            return redirect(reverse("mfa_verify") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


CORS_PREFLIGHT_ATTRIBUTE = "answers_cors_preflight"


def answers_cors_preflight(view: View) -> View:
    """Marks a view that answers a cross-origin preflight (OPTIONS) itself; only such views receive one."""
    setattr(view, CORS_PREFLIGHT_ATTRIBUTE, True)
    return view


def _answers_preflight(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return bool(getattr(match.func, CORS_PREFLIGHT_ATTRIBUTE, False))


class PageMethodsMiddleware:
    """Pages take GET, HEAD and POST only (HTML forms send nothing else); the API takes what each view declares.

    Some third-party views treat PUT as POST (Django's generic form views do); refusing the other
    methods before any view runs keeps every page's methods to the ones the authorization matrix lists.
    A view marked with `answers_cors_preflight` also receives OPTIONS (a SMART Health Link's manifest).
    """

    PAGE_METHODS = frozenset({"GET", "HEAD", "POST"})

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method not in self.PAGE_METHODS
            and not request.path.startswith("/api/")
            and not (request.method == "OPTIONS" and _answers_preflight(request))
        ):
            return HttpResponseNotAllowed(sorted(self.PAGE_METHODS))
        return self.get_response(request)


class UserPreferencesMiddleware:
    """The signed-in person's language (unless they just chose one) and time zone."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone_name = settings.DEFAULT_USER_TIME_ZONE
        language = translation.get_language()
        user = request.user
        if user.is_authenticated:
            zone_name = user.time_zone or zone_name
            chosen = user.language
            if chosen and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                language = chosen
                request.LANGUAGE_CODE = chosen
        try:
            zone = zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo(settings.DEFAULT_USER_TIME_ZONE)
        # Both only for this request: a worker thread goes back to what it had (no language leaks between requests).
        with translation.override(language), timezone.override(zone):
            return self.get_response(request)
