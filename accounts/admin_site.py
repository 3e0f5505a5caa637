from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp.middleware import is_verified


class PortalAdminSite(AdminSite):
    """The Django admin, open only to staff users who passed two-step verification."""

    site_header = "Family Health Portal administration"
    site_title = "Portal admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_verified(user))

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        next_url = request.GET.get("next", reverse("admin:index"))
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        if not request.user.is_staff:
            raise Http404
        return redirect(reverse("mfa_verify") + "?" + urlencode({"next": next_url}))
