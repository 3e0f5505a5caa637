"""Every view declares its audience; the declaration checks the request and hands the view checked objects.

- `public_page`: anyone, signed in or not (health checks, an invitation's landing page, the language switch).
- `account_page`: a signed-in person, about their own account (security, API tokens, their own requests).
- `subject_page(scope)`: a signed-in person acting for a patient (themselves, or someone they hold a live
  grant for) with `scope`; the view receives `subject`, the patient.
- `staff_page(...)`: clinic staff or admins who passed two-step verification, at a desk: the organization
  named by `org_slug` in the URL (optionally only some roles), or the platform's desk for platform admins;
  the view receives `staff`, the actor at that desk, whose reads go through accounts.scoping.

Objects named in the URL as `<thing>_id` are loaded by the declaration through the access helper given for
them (`access_<thing>_by_id(actor, id)`, 404 alike for "missing" and "not yours") and handed to the view
as `<thing>`; the view never sees the raw id. A helper may ask for objects loaded before it by naming them
as keyword arguments (a document within its request).

A declared read (`audit=AuditAction...`) is recorded after a successful GET by anyone but the patient
(staff reads always); partial htmx refreshes of a page already recorded are not recorded again.

API views declare the same `Audience` as a class attribute (see accounts.api.views).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.middleware import is_verified

from accounts.access import access_organization_as_staff, access_subject
from accounts.actions.audit import record_audit_event
from accounts.actions.mfa import has_mfa
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.scoping import Desk

View = Callable[..., HttpResponseBase]
Loader = Callable[..., models.Model]

READ_METHODS = frozenset({"GET", "HEAD"})


class Kind(Enum):
    PUBLIC = "public"
    ACCOUNT = "account"
    SUBJECT = "subject"
    STAFF = "staff"


@dataclass(frozen=True)
class Audience:
    kind: Kind
    scope: str | None = None  # subject pages: the scope the actor must hold for the subject
    roles: frozenset[str] | None = None  # staff pages: any of these roles at the organization (None: any role)
    organization: bool = True  # staff pages: the URL names the organization (org_slug)
    platform: bool = False  # staff pages: without org_slug, the platform's desk (platform admins)
    audit: AuditAction | None = None  # reads to record
    audit_self: bool = False  # record the patient's own reads too
    audit_first: bool = False  # record before the view runs (a page that lists its own opening)
    objects: Mapping[str, Loader] = field(default_factory=dict)  # URL kwarg "<name>_id" -> loader

    def object_name(self, url_kwarg: str) -> str:
        return url_kwarg.removesuffix("_id")


def declared_audience(callback: Callable[..., Any]) -> Audience | None:
    """The audience a URL's view declared (function views, Django class views and DRF views alike)."""
    for holder in (callback, getattr(callback, "view_class", None), getattr(callback, "cls", None)):
        audience = getattr(holder, "audience", None)
        if isinstance(audience, Audience):
            return audience
    return None


# Loading and auditing, shared with the API ---------------------------------------------------------------


def load_objects(audience: Audience, actor: Actor, kwargs: dict[str, Any]) -> dict[str, models.Model]:
    """Replaces each declared `<name>_id` in kwargs by the object its access helper returns (or 404s)."""
    loaded: dict[str, models.Model] = {}
    for url_kwarg, loader in audience.objects.items():
        raw = kwargs.pop(url_kwarg)
        wanted = inspect.signature(loader).parameters
        earlier = {name: value for name, value in loaded.items() if name in wanted}
        loaded[audience.object_name(url_kwarg)] = loader(actor, raw, **earlier)
    return loaded


def audit_subject_of(obj: models.Model | None) -> Patient | None:
    """The patient an object is about, for its audit row (models say so through `audit_subject`)."""
    if obj is None:
        return None
    if isinstance(obj, Patient):
        return obj
    subject = getattr(obj, "audit_subject", None)
    return subject if isinstance(subject, Patient) else None


def record_declared_read(
    audience: Audience,
    *,
    actor: Actor,
    request: HttpRequest,
    subject: Patient | None,
    loaded: Mapping[str, models.Model],
) -> None:
    """The audit row of a declared read (the caller checked that the response succeeded)."""
    if audience.audit is None or request.method not in READ_METHODS:
        return
    if getattr(request, "htmx", False):
        return  # a partial refresh of a page whose opening was recorded
    if audience.kind is Kind.SUBJECT and actor.acts_for_self and not audience.audit_self:
        return
    target = next(iter(loaded.values()), None)
    record_audit_event(
        action=audience.audit,
        actor=actor,
        request=request,
        subject=subject or audit_subject_of(target),
        object_type=(target._meta.model_name or "") if target is not None else "",
        object_id=target.pk if target is not None else "",
    )


def _succeeded(response: HttpResponseBase) -> bool:
    return 200 <= response.status_code < 300


def _serve(
    view: View,
    audience: Audience,
    request: HttpRequest,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    actor: Actor,
    subject: Patient | None,
    handed: dict[str, Any],
) -> HttpResponseBase:
    """Loads the declared objects, calls the view with them, and records a declared read."""
    loaded = load_objects(audience, actor, kwargs)
    if audience.audit_first:
        record_declared_read(audience, actor=actor, request=request, subject=subject, loaded=loaded)
    response = view(request, *args, **handed, **loaded, **kwargs)
    if _succeeded(response) and not audience.audit_first:
        record_declared_read(audience, actor=actor, request=request, subject=subject, loaded=loaded)
    return response


def _attach(view: View, audience: Audience, wrapped: View) -> View:
    wrapped.audience = audience  # type: ignore[attr-defined]
    return wraps(view)(wrapped)


# The declarations --------------------------------------------------------------------------------------


def public_page(view: View) -> View:
    """Anyone, signed in or not."""
    audience = Audience(Kind.PUBLIC)

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return view(request, *args, **kwargs)

    return _attach(view, audience, wrapped)


def account_page(view: View | None = None, *, objects: Mapping[str, Loader] | None = None) -> Any:
    """A signed-in person, about their own account (`@account_page`, or `@account_page(objects=...)`)."""
    audience = Audience(Kind.ACCOUNT, objects=dict(objects or {}))

    def decorate(view: View) -> View:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor: Actor = request.actor  # type: ignore[attr-defined]
            return _serve(view, audience, request, args, kwargs, actor=actor, subject=None, handed={})

        return _attach(view, audience, wrapped)

    return decorate(view) if view is not None else decorate


def subject_page(
    scope: str,
    *,
    audit: AuditAction | None = None,
    audit_self: bool = False,
    audit_first: bool = False,
    objects: Mapping[str, Loader] | None = None,
) -> Callable[[View], View]:
    """Someone acting for a patient with `scope`; the view gets `subject` and the declared objects."""
    audience = Audience(
        Kind.SUBJECT,
        scope=scope,
        audit=audit,
        audit_self=audit_self,
        audit_first=audit_first,
        objects=dict(objects or {}),
    )

    def decorate(view: View) -> View:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor: Actor = request.actor  # type: ignore[attr-defined]
            subject = access_subject(actor, scope)
            return _serve(
                view, audience, request, args, kwargs, actor=actor, subject=subject, handed={"subject": subject}
            )

        return _attach(view, audience, wrapped)

    return decorate


def staff_desk(actor: Actor, audience: Audience, org_slug: str | None) -> Actor:
    """The actor at the desk the page names (404 when they do not sit there)."""
    if org_slug is not None and audience.organization:
        organization = access_organization_as_staff(actor, org_slug, roles=audience.roles)
        return actor.at_desk(Desk(organization))
    if org_slug is None and audience.platform:
        if not actor.is_platform_admin:
            raise Http404
        return actor.at_desk(Desk(None))
    if org_slug is None and not audience.organization:
        return actor  # a page about all of the person's workplaces (the staff home)
    raise Http404


def staff_page(
    *,
    roles: frozenset[str] | None = None,
    organization: bool = True,
    platform: bool = False,
    audit: AuditAction | None = None,
    objects: Mapping[str, Loader] | None = None,
) -> Callable[[View], View]:
    """Clinic staff (or platform admins) past two-step verification; the view gets `staff`, the actor at the desk.

    Anyone else gets 404, as if the page did not exist.
    """
    audience = Audience(
        Kind.STAFF,
        roles=roles,
        organization=organization,
        platform=platform,
        audit=audit,
        objects=dict(objects or {}),
    )

    def decorate(view: View) -> View:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor: Actor = request.actor  # type: ignore[attr-defined]
            if not actor.must_use_mfa:
                raise Http404
            if not is_verified(request.user):
                query = urlencode({"next": request.get_full_path()})
                if not has_mfa(request.user):
                    messages.info(request, _("Staff and admin pages need two-step verification. Set it up first."))
                    return redirect(f"{reverse('mfa_setup')}?{query}")
                return redirect(f"{reverse('mfa_verify')}?{query}")
            staff = staff_desk(actor, audience, kwargs.pop("org_slug", None))
            return _serve(view, audience, request, args, kwargs, actor=staff, subject=None, handed={"staff": staff})

        return _attach(view, audience, wrapped)

    return decorate
