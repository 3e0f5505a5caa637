"""Request types for views behind a sign-in: the user is a real User and the actor is resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from accounts.actors import Actor
    from accounts.models import User


class SignedInRequest(HttpRequest):
    user: User
    actor: Actor
    htmx: HtmxDetails
