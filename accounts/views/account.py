"""A person's own account: starting their record, API tokens."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_api_token_by_id
from accounts.actions.people import start_own_record
from accounts.actions.tokens import create_api_token, revoke_api_token
from accounts.audience import account_page
from accounts.forms import ApiTokenForm, OwnRecordForm
from accounts.models import ApiToken
from accounts.requests import SignedInRequest
from accounts.selectors import api_tokens_of


@account_page
@require_http_methods(["GET", "POST"])
def own_record_start(request: SignedInRequest) -> HttpResponse:
    if request.actor.own_record is not None:
        return redirect("home")
    form = OwnRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # A double submit finds the record already made by the first one.
        with contextlib.suppress(IntegrityError):
            start_own_record(user=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Your record is ready."))
        return redirect("home")
    return render(request, "accounts/own_record_start.html", {"form": form})


@account_page
@require_http_methods(["GET", "POST"])
def api_tokens(request: SignedInRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _row, new_token = create_api_token(
            user=request.user,
            name=form.cleaned_data["name"],
            lifetime_days=form.cleaned_data["lifetime_days"],
            request=request,
        )
        form = ApiTokenForm()
    tokens = api_tokens_of(request.actor)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token})


@account_page(objects={"token_id": access_api_token_by_id})
@require_POST
def api_token_revoke(request: SignedInRequest, token: ApiToken) -> HttpResponse:
    if revoke_api_token(user=request.user, token=token, request=request):
        messages.success(request, _("The token no longer works."))
    return redirect("api_tokens")
