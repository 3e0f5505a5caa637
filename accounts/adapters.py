from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest

from accounts.signals import audit_login_rate_limited


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(getattr(settings, "ACCOUNT_ALLOW_SIGNUP", True))

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's check of the "login_failed" rate limit, before the password is tried.

        A refused attempt never reaches Django's authenticate(), so no
        user_login_failed signal is sent for it: it is recorded here.
        """
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            audit_login_rate_limited(request=request, credentials=credentials)
            raise
