"""Resolves request.actor: who is asking, and whom they act for ("viewing as")."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, actor_for
from accounts.audit_labels import AuditAction
from accounts.middleware import is_exempt
from proxy.access import AccessEndedError, resolve_actor
from proxy.context import ActingContext

ACTING_FOR_KEY = "portal_acting_for"

Handler = Callable[[HttpRequest], HttpResponse]


class ActorMiddleware:
    """The session remembers whom its user acts for; each request re-checks the grant.

    When the grant has ended since the last request (revoked, expired, 18th
    birthday), this request is refused with an explanation, and the session
    goes back to the user's own record.
    """

    # Still reachable when access has ended: signing out, and the machine-facing checks.
    EXEMPT_URL_NAMES = ("account_logout", "healthz", "readyz", "favicon")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.acting = ActingContext(request)  # type: ignore[attr-defined]
        subject_id = request.session.get(ACTING_FOR_KEY) if hasattr(request, "session") else None
        if subject_id is None or not request.user.is_authenticated or is_exempt(request, self.EXEMPT_URL_NAMES):
            request.actor = SimpleLazyObject(lambda: actor_for(request.user))  # type: ignore[attr-defined]
            return self.get_response(request)
        try:
            actor: Actor = resolve_actor(request.user, subject_id=subject_id)
        except AccessEndedError as ended:
            request.session.pop(ACTING_FOR_KEY, None)
            request.actor = actor_for(request.user)  # type: ignore[attr-defined]
            record_audit_event(
                action=AuditAction.PROXY_ACCESS_ENDED_REFUSED,
                user=request.user,
                request=request,
                object_type="patient",
                object_id=subject_id,
            )
            return render(request, "proxy/access_ended.html", {"patient_name": ended.patient_name}, status=403)
        request.actor = actor  # type: ignore[attr-defined]
        return self.get_response(request)
