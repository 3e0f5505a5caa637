"""What every page needs to know about "viewing as", computed once per request and only if used."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from accounts.requests import SignedInRequest
from proxy.access import Subject, subjects_for


class ActingContext:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def subjects(self) -> list[Subject]:
        actor = getattr(self.request, "actor", None)
        return subjects_for(actor) if actor is not None else []

    @cached_property
    def others(self) -> list[Subject]:
        return [s for s in self.subjects if not s.is_self]


class ActingRequest(SignedInRequest):
    acting: ActingContext
