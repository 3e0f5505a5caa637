"""The public half of the portal's signing key, for health systems that check its client assertions."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from accounts.audience import public_page
from records.smart import portal_jwks


@public_page
@cache_control(public=True, max_age=3600)
@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    """A JWK Set (RFC 7517) with the key private_key_jwt assertions are signed with; empty when there is none."""
    return JsonResponse(portal_jwks(), content_type="application/jwk-set+json")
