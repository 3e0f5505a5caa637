"""Gates for pages: signed-in people, and staff who passed two-step verification."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.middleware import is_verified

from accounts.actions.mfa import has_mfa

View = Callable[..., HttpResponseBase]


def staff_page(view: View) -> View:
    """For clinic staff and admins: requires a second factor enrolled and passed in this session.

    Anyone else gets 404, as if the page did not exist.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.actor.must_use_mfa:  # type: ignore[attr-defined]
            raise Http404
        if not is_verified(request.user):
            query = urlencode({"next": request.get_full_path()})
            if not has_mfa(request.user):  # type: ignore[arg-type]
                messages.info(request, _("Staff and admin pages need two-step verification. Set it up first."))
                return redirect(f"{reverse('mfa_setup')}?{query}")
            return redirect(f"{reverse('mfa_verify')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
