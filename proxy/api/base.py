"""The base of every API view: the declared audience, the same actor as the pages, throttles first, pages.

Order of checks on each call (DRF's own order puts permissions before throttles, so a flood of
anonymous calls was never throttled):

1. a per-address flood ceiling, before anything else (bad tokens included);
2. authentication (a bearer token or the browser session); none at all answers 401;
3. the user and anonymous rate limits;
4. permissions (signed in);
5. the view's declared audience (accounts.audience): the subject and its scope, or the staff desk
   with two-step verification; declared objects are loaded through their access helpers and
   handed to the handler in place of their ids;
6. after a successful GET, the declared read is recorded in the audit log.

Whom a call acts for: a path under /api/v1/patients/<patient_id>/ names the patient (the caller must be
that patient or hold a live grant for them; anyone else, malformed and unknown ids alike, is a 404, and an
Acting-For header naming someone else is a 400); elsewhere the Acting-For header, else the session's
choice, else the caller's own record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_otp.middleware import is_verified
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.access import access_subject, parse_uuid
from accounts.actions.mfa import has_mfa
from accounts.actors import Actor
from accounts.audience import Audience, Kind, load_objects, record_declared_read, staff_desk
from accounts.models import ApiToken, Patient, User
from proxy.access import AccessEndedError, resolve_actor
from proxy.middleware import ACTING_FOR_KEY

ACTING_FOR_HEADER = OpenApiParameter(
    name="Acting-For",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The id of the patient to act for (from /api/v1/me/). Default: the caller's own record.",
)
# The URL kwarg that names the patient a call acts for (declared with proxy.access.access_subject_by_id).
PATIENT_KWARG = "patient_id"
# The URL kwarg that names the organization whose desk a staff call works at (staff/<org_slug>/...).
ORGANIZATION_KWARG = "org_slug"
ORGANIZATION_PARAMETER = OpenApiParameter(
    name="organization",
    required=False,
    description="The organization's slug whose review desk you work at; without it, the platform's desk.",
)


class FloodThrottle(SimpleRateThrottle):
    """A ceiling per client address for every call, checked before authentication."""

    scope = "flood"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PortalPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PortalAPIView(APIView):
    """Every API view of the portal: declares `audience` (a test walks the URLs and fails without it)."""

    audience: ClassVar[Audience]
    flood_throttle = FloodThrottle
    pagination_class = PortalPagination

    subject: Patient | None = None

    # Checks, in order ------------------------------------------------------------------------------

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        flood = self.flood_throttle()
        if not flood.allow_request(request, self):
            self.throttled(request, flood.wait() or 1.0)
        self.perform_authentication(request)
        self.check_throttles(request)
        self.check_permissions(request)
        self._enter_audience(request)

    def _enter_audience(self, request: Request) -> None:
        audience = self.audience
        if audience.kind is Kind.PUBLIC or audience.kind is Kind.ACCOUNT:
            return
        actor = self.actor
        if audience.kind is Kind.SUBJECT:
            assert audience.scope is not None
            self.subject = access_subject(actor, audience.scope)
            self.checked_actor = actor
        else:
            self._require_second_factor(request)
            # The desk: the organization a path names (`org_slug`), else ?organization=, else the platform's.
            slug = self.kwargs.pop(ORGANIZATION_KWARG, None) or request.query_params.get("organization") or None
            staff = staff_desk(actor, audience, slug)
            self.checked_actor = staff
        # DRF hands the handler this same kwargs dict: the objects replace their ids in it.
        self.loaded = load_objects(audience, self.checked_actor, self.kwargs)
        self.kwargs.update(self.loaded)

    def _require_second_factor(self, request: Request) -> None:
        """Staff desks need two-step verification: a verified session, or a token of someone who has it on."""
        user = self.actor.user
        by_token = isinstance(request.auth, ApiToken)
        if user is None or not self.actor.must_use_mfa:
            raise NotFound
        if not has_mfa(user) or not (by_token or is_verified(user)):
            raise PermissionDenied("This needs two-step verification.")

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        checked = getattr(self, "checked_actor", None)
        if checked is not None and 200 <= response.status_code < 300:
            # The patient a path names is whose record was read (the subject), not the object read.
            named = self.audience.object_name(PATIENT_KWARG)
            read = {name: obj for name, obj in getattr(self, "loaded", {}).items() if name != named}
            record_declared_read(
                self.audience, actor=checked, request=request._request, subject=self.subject, loaded=read
            )
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Http404):
            exc = NotFound()
        return super().handle_exception(exc)

    # The actor -------------------------------------------------------------------------------------

    @property
    def actor(self) -> Actor:
        """The same actor the pages use; a token client names the subject in the Acting-For header.

        A patient's path (`patient_id`) names the subject itself, whatever the session acts for.
        """
        if not hasattr(self, "_actor"):
            request = self.request
            user = request.user if isinstance(request.user, User) else None
            if PATIENT_KWARG in self.kwargs:
                self._actor = self._actor_named_by_path(user, self.kwargs[PATIENT_KWARG])
                return self._actor
            subject_id = request.headers.get("Acting-For")
            if subject_id is None and hasattr(request, "session"):
                subject_id = request.session.get(ACTING_FOR_KEY)
            try:
                self._actor = resolve_actor(user, subject_id=subject_id or None)
            except AccessEndedError as error:
                raise PermissionDenied("You may not act for that patient.") from error
        return self._actor

    def _actor_named_by_path(self, user: User | None, raw: object) -> Actor:
        """The caller acting for the patient the path names; 404 for anyone they may not act for, whyever.

        Unlike the Acting-For header (403 when a grant has ended), the path names a resource: a malformed id,
        an unknown one, someone never granted and a grant that ended all answer the same 404.
        """
        try:
            wanted = parse_uuid(raw)
        except Http404 as error:
            raise NotFound from error
        header = (self.request.headers.get("Acting-For") or "").strip()
        if header:
            try:
                same = parse_uuid(header) == wanted
            except Http404:
                same = False
            if not same:
                raise ValidationError(
                    {"Acting-For": [_("This header names a different patient than the path. Send one, or the same.")]}
                )
        try:
            actor = resolve_actor(user, subject_id=wanted)
        except AccessEndedError as error:
            raise NotFound from error
        if actor.subject is None or actor.subject.pk != wanted:
            raise NotFound
        return actor

    # Lists -----------------------------------------------------------------------------------------

    def paginated(
        self,
        rows: Any,
        serializer_class: type[BaseSerializer],
        *,
        shape: Callable[[list[Any]], list[Any]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Response:
        """One page of `rows` (at most PortalPagination.max_page_size), with links to the others.

        `shape` turns the page's rows into what is listed (the record merges each page's copies of one item);
        `context` is the serializer's.
        """
        paginator = self.pagination_class()
        page: list[Any] | None = paginator.paginate_queryset(rows, self.request, view=self)
        assert page is not None
        listed = shape(page) if shape is not None else page
        return paginator.get_paginated_response(serializer_class(listed, many=True, context=context or {}).data)
