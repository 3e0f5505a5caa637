"""The public side of SMART Health Links: the manifest, a file's short-lived location, and our own viewer.

Whoever holds a link may use these, signed in or not: the manifest token in the URL is the capability,
and what it answers is encrypted under the key that only the link holds. Other viewers fetch from other
origins, so the manifest and the file answer `Access-Control-Allow-Origin: *` (and nothing else does).
Every manifest request is recorded as an opening of the link (opened, wrong passcode, or refused).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from accounts.actions.audit import client_ip
from accounts.audience import public_page
from accounts.middleware import answers_cors_preflight
from records import actions, shlinks
from records.actions import Opened
from records.rate_limits import over_limit

MANIFEST_BODY_MAX = 4096  # {recipient, passcode, embeddedLengthMax}: a few hundred bytes at most
RATE_WINDOW_SECONDS = 60


def _for_any_origin(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response


def _answer(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return _for_any_origin(JsonResponse(body, status=status))


def _throttled(request: HttpRequest, token: str) -> bool:
    """Over the limit per address or per link (both counted on every request, in the shared cache)."""
    by_address = over_limit(
        "shl-address",
        client_ip(request) or "unknown",
        limit=settings.SHARE_LINK_RATE_PER_ADDRESS,
        window_seconds=RATE_WINDOW_SECONDS,
    )
    by_link = over_limit("shl-link", token, limit=settings.SHARE_LINK_RATE_PER_LINK, window_seconds=RATE_WINDOW_SECONDS)
    return by_address or by_link


def _too_many() -> HttpResponse:
    response = _answer({"error": "Too many requests; try again in a minute."}, status=429)
    response["Retry-After"] = str(RATE_WINDOW_SECONDS)
    return response


def _not_found() -> HttpResponse:
    return _answer({"error": "No such link, or it no longer works."}, status=404)


def _manifest_request(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > MANIFEST_BODY_MAX:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    recipient, passcode, limit = body.get("recipient"), body.get("passcode", ""), body.get("embeddedLengthMax")
    if not isinstance(recipient, str) or not recipient.strip() or not isinstance(passcode, str):
        return None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        return None
    return {"recipient": " ".join(recipient.split()), "passcode": passcode, "embedded_max": limit}


@csrf_exempt
@answers_cors_preflight
@public_page
@require_http_methods(["POST", "OPTIONS"])
def manifest(request: HttpRequest, token: str) -> HttpResponse:
    """POST {recipient, passcode?, embeddedLengthMax?} -> {status, files: [{contentType, embedded | location}]}."""
    if request.method == "OPTIONS":  # a viewer on another origin asks first (its body is JSON)
        response = _for_any_origin(HttpResponse(status=204))
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return response
    if _throttled(request, token):
        return _too_many()
    asked = _manifest_request(request)
    if asked is None:
        return _answer({"error": "Send JSON with a recipient (and the passcode, if the link has one)."}, status=400)
    opening = actions.open_share_link(
        token=token, recipient=asked["recipient"], passcode=asked["passcode"], request=request
    )
    if opening.result == Opened.WRONG_PASSCODE:
        return _answer({"remainingAttempts": opening.remaining_attempts}, status=401)
    if opening.result != Opened.OPENED or opening.link is None:
        return _not_found()
    link = opening.link
    entry: dict[str, str] = {"contentType": shlinks.CONTENT_TYPE}
    if asked["embedded_max"] is None or len(link.payload) <= asked["embedded_max"]:
        entry["embedded"] = link.payload
    else:
        ticket = shlinks.file_ticket(link.pk)
        entry["location"] = request.build_absolute_uri(reverse("records:shl_file", args=[token, ticket]))
    return _answer({"status": "finalized", "files": [entry]})


@public_page
@require_GET
def shl_file(request: HttpRequest, token: str, ticket: str) -> HttpResponse:
    """A file's location: the JWE itself, while the ticket is fresh (a few minutes) and unused."""
    if _throttled(request, token):
        return _too_many()
    link = actions.share_file(token=token, ticket=ticket, request=request)
    if link is None:
        return _not_found()
    return _for_any_origin(HttpResponse(link.payload, content_type="application/jose"))


def _viewer_texts() -> dict[str, str]:
    """The viewer script's words, in the page's language (it has no catalog of its own)."""
    return {
        "loading": _("Opening the shared record…"),
        "no-link": _(
            "There is no shared link in this address. Open the whole link you were given, including the part after #."
        ),
        "bad-link": _("This link is damaged or incomplete. Ask for it again."),
        "other-service": _(
            "This link was made by another service. Open it with that service's viewer, or the app you use "
            "for SMART Health Links."
        ),
        "ended": _("This link no longer works. It has ended, or the person who shared it ended it."),
        "passcode-needed": _("This record is protected by a passcode. Ask the person who shared it."),
        "passcode-label": _("Passcode"),
        "passcode-submit": _("Open the record"),
        "wrong-passcode-one": _("Wrong passcode. 1 try left before the link stops working."),
        "wrong-passcode-many": _("Wrong passcode. %(count)s tries left before the link stops working.")
        % {"count": "{count}"},
        "too-many": _("Too many tries in a short time. Wait a minute and try again."),
        "failed": _("The record could not be opened. Check your connection and try again."),
        "undecryptable": _("The record could not be read with this link. Ask for the link again."),
        "shared-as": _("Shared as: %(label)s") % {"label": "{label}"},
        "valid-until": _("The link works until %(date)s.") % {"date": "{date}"},
        "patient": _("Patient"),
        "born": _("Born"),
        "problems": _("Health problems"),
        "medications": _("Medicines"),
        "allergies": _("Allergies"),
        "immunizations": _("Vaccines"),
        "results": _("Test results"),
        "visits": _("Visits"),
        "range": _("Usual range: %(range)s") % {"range": "{range}"},
        "reaction": _("Reaction: %(reaction)s") % {"reaction": "{reaction}"},
        "since": _("Since %(date)s") % {"date": "{date}"},
        "none": _("Nothing of this kind was shared."),
        "others": _("Other items shared: %(count)s") % {"count": "{count}"},
        "unnamed": _("(no name given)"),
    }


@public_page
@require_safe
def viewer(request: HttpRequest) -> HttpResponse:
    """Our viewer: the page's script reads the link from the address (after #, never sent here) and opens it."""
    return render(request, "records/shl_viewer.html", {"texts": sorted(_viewer_texts().items())})
