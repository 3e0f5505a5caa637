"""Two-step verification: set up, verify after sign-in, recovery codes, removal."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe
from django_otp.middleware import is_verified

from accounts.actions import mfa as mfa_actions
from accounts.audience import account_page
from accounts.forms import ConfirmAuthenticatorForm, SecondFactorForm
from accounts.middleware import HAS_MFA_KEY
from accounts.models import RecoveryCodeDevice, TOTPDevice
from accounts.requests import SignedInRequest

PENDING_DEVICE_KEY = "portal_pending_totp_device"


def safe_next(request: HttpRequest, default: str = "home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


def qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]  # drop the XML declaration to embed it inline


@account_page
@require_safe
def security_overview(request: SignedInRequest) -> HttpResponse:
    user = request.user
    recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    return render(
        request,
        "accounts/security.html",
        {
            "totp": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
            "recovery_left": recovery.remaining if recovery else 0,
            "must_use_mfa": request.actor.must_use_mfa,
        },
    )


@account_page
@require_http_methods(["GET", "POST"])
def authenticator_setup(request: SignedInRequest) -> HttpResponse:
    user = request.user
    next_url = safe_next(request)
    if mfa_actions.has_mfa(user):
        messages.info(request, _("Two-step verification is already on."))
        return redirect("mfa_overview")
    device = None
    pending_id = request.session.get(PENDING_DEVICE_KEY)
    if pending_id:
        device = TOTPDevice.objects.filter(pk=pending_id, user=user, confirmed=False).first()
    if device is None:
        device = mfa_actions.start_totp_enrolment(user=user)
        request.session[PENDING_DEVICE_KEY] = device.pk
    form = ConfirmAuthenticatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa_actions.confirm_totp_enrolment(
            user=user,
            device=device,
            token=form.cleaned_data["code"],
            request=request,
        )
        if codes is not None:
            request.session.pop(PENDING_DEVICE_KEY, None)
            request.session[HAS_MFA_KEY] = True
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": next_url, "first_time": True}
            )
        form.add_error("code", _("That code did not match. Check the time on your phone and try the newest code."))
    key = device.base32_key
    return render(
        request,
        "accounts/authenticator_setup.html",
        {
            "form": form,
            "qr_svg": mark_safe(qr_svg(device.config_url)),  # noqa: S308  (our own SVG, no user input)
            "key_groups": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "next": next_url,
        },
    )


@account_page
@require_http_methods(["GET", "POST"])
def verify(request: SignedInRequest) -> HttpResponse:
    """The step after the password for anyone with a second factor."""
    next_url = safe_next(request)
    user = request.user
    if is_verified(user):
        return redirect(next_url)
    if not mfa_actions.has_mfa(user):
        return redirect(reverse("mfa_setup") + "?" + urlencode({"next": next_url}))
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa_actions.verify_second_factor(user=user, token=form.cleaned_data["code"], request=request):
            return redirect(next_url)
        wait = mfa_actions.seconds_until_next_attempt(user)
        if wait:
            form.add_error(
                "code",
                ngettext(
                    "That code did not work. After several wrong codes we wait a little: "
                    "try again in %(seconds)s second.",
                    "That code did not work. After several wrong codes we wait a little: "
                    "try again in %(seconds)s seconds.",
                    wait,
                )
                % {"seconds": wait},
            )
        else:
            form.add_error("code", _("That code did not work. Try the newest code from your app, or a recovery code."))
    return render(request, "accounts/verify.html", {"form": form, "next": next_url})


@account_page
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def recovery_codes_regenerate(request: SignedInRequest) -> HttpResponse:
    if not mfa_actions.has_mfa(request.user):
        return redirect("mfa_overview")
    if request.method == "GET":
        return render(request, "accounts/recovery_codes_confirm.html")
    codes = mfa_actions.regenerate_recovery_codes(user=request.user, request=request)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("mfa_overview")})


@account_page
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def remove(request: SignedInRequest) -> HttpResponse:
    if request.method == "POST":
        mfa_actions.remove_mfa(user=request.user, request=request)
        request.session[HAS_MFA_KEY] = False
        messages.success(request, _("Two-step verification is off."))
        return redirect("mfa_overview")
    return render(request, "accounts/mfa_remove.html", {"must_use_mfa": request.actor.must_use_mfa})
