"""The access policy cannot be forgotten: every view declares its audience, and hands the view checked objects.

- Every URL's view declares an audience (accounts.audience): public, account, subject (with a scope)
  or staff (at a desk). Only the two libraries that gate their own pages are exempt, by module.
- Every id a URL captures is loaded by the declaration through an access helper; a view never
  receives a raw id it could look up itself.
- Views and API views never query the models that hold people, grants, connections, requests,
  documents or tokens: they receive those objects from the declaration (a static check).
- Staff-side reads go through accounts.scoping, one rule per model.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from accounts.audience import Audience, Kind, declared_audience
from accounts.models import AuditEvent, Enrollment, Membership, Patient
from accounts.scoping import Desk, UnscopedModelError, scoped, scoped_models
from proxy.models import AccessRequest, AccessRequestDocument, ProxyGrant
from tests.conftest import World
from tests.url_inventory import Route, routes

# Libraries whose pages gate themselves: the sign-in library's own pages (sign-in, sign-up, reset: public by
# design, each checks its own state), found by the module of their views; and the Django admin, found by its
# namespace, whose site (accounts.admin_site.PortalAdminSite.has_permission) asks for staff past two-step
# verification on every one of its pages.
SELF_GATED_MODULES = ("allauth.",)
SELF_GATED_NAMESPACES = ("admin:",)


def _module_of(route: Route) -> str:
    callback = route.callback
    target = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    return getattr(target, "__module__", "") or ""


def _self_gated(route: Route) -> bool:
    return route.name.startswith(SELF_GATED_NAMESPACES) or _module_of(route).startswith(SELF_GATED_MODULES)


def _product_routes() -> list[Route]:
    return [r for r in routes() if not _self_gated(r)]


def test_every_view_declares_its_audience() -> None:
    undeclared = sorted(r.name for r in _product_routes() if declared_audience(r.callback) is None)
    assert not undeclared, f"Views that declare no audience (see accounts/audience.py): {undeclared}"


def test_only_the_self_gated_libraries_are_exempt() -> None:
    exempt = [r for r in routes() if _self_gated(r)]
    assert exempt
    for route in exempt:
        module = _module_of(route)
        # The admin site's own module is ours (accounts.admin_site); its pages are the Django admin's.
        assert module.startswith(("allauth.", "django.", "accounts.admin_site")), (route.name, module)


def test_subject_pages_name_a_scope_and_staff_pages_a_desk() -> None:
    for route in _product_routes():
        audience = declared_audience(route.callback)
        assert isinstance(audience, Audience)
        if audience.kind is Kind.SUBJECT:
            assert audience.scope, f"{route.name}: a subject page names the scope it needs"
        if audience.kind is Kind.STAFF and audience.organization:
            assert "org_slug" in route.kwargs or audience.platform, f"{route.name}: which organization's desk?"


def test_no_view_receives_a_raw_id() -> None:
    """Every `<thing>_id` a URL captures is turned into the checked object by the view's declaration."""
    raw: list[str] = []
    for route in _product_routes():
        audience = declared_audience(route.callback)
        assert audience is not None
        for kwarg in route.kwargs:
            if kwarg.endswith("_id") and kwarg not in audience.objects:
                raw.append(f"{route.name}: {kwarg}")
    assert not raw, f"Ids handed to views unchecked: {raw}"


# Views never look these up themselves: the declaration (or an access helper) hands them over.
GUARDED_MODELS = {
    "Patient",
    "ProxyGrant",
    "ProxyInvitation",
    "AccessRequest",
    "AccessRequestDocument",
    "Connection",
    "ImportRun",
    "ApiToken",
    "Enrollment",
    "FhirResource",
}
VIEW_MODULES = sorted(
    {
        path
        # The messages API names its modules by side (messaging/api/patient.py): every module there is a view's.
        for pattern in ("*/views/*.py", "*/views.py", "*/api/views*.py", "messaging/api/*.py")
        for path in Path(settings.BASE_DIR).glob(pattern)
        if path.parts[-3 if path.parent.name in ("views", "api") else -2]
        in ("accounts", "proxy", "records", "portal", "messaging")
    }
)


def _model_queries(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("objects", "_default_manager")
            and isinstance(node.value, ast.Name)
            and node.value.id in GUARDED_MODELS
        ):
            found.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_view_modules_are_found() -> None:
    names = {str(p.relative_to(settings.BASE_DIR)) for p in VIEW_MODULES}
    assert {"proxy/views/review.py", "proxy/api/views.py", "records/views/connections.py", "portal/views.py"} <= names
    assert {"records/api/views_sharing.py", "records/api/views_entries.py", "records/api/views_privacy.py"} <= names
    assert {"messaging/views/patient.py", "messaging/api/patient.py"} <= names
    assert {"messaging/views/staff.py", "messaging/api/staff.py"} <= names


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_views_do_not_query_guarded_models(path: Path) -> None:
    assert not _model_queries(path), "Use the declaration's objects or an access helper instead"


# Staff scoping -----------------------------------------------------------------------------------------


def test_a_model_without_a_rule_cannot_be_read_from_a_desk(world: World) -> None:
    from accounts.actors import actor_for

    staff = actor_for(world.user("staff_here")).at_desk(Desk(world.org_here))
    with pytest.raises(UnscopedModelError):
        scoped(staff, World)  # type: ignore[type-var]


def test_the_staff_side_models_have_their_rule() -> None:
    assert {Patient, Enrollment, Membership, AuditEvent, AccessRequest, AccessRequestDocument, ProxyGrant} <= set(
        scoped_models()
    )


def test_an_organizations_desk_sees_only_its_own(world: World) -> None:
    from accounts.actors import actor_for

    here = actor_for(world.user("org_admin")).at_desk(Desk(world.org_here))
    other = actor_for(world.user("admin_other")).at_desk(Desk(world.org_other))
    platform = actor_for(world.user("platform_admin")).at_desk(Desk(None))
    nowhere = actor_for(world.user("org_admin"))  # not at a desk: sees nothing

    rosa, teen = world.people["rosa"], world.people["teen"]
    assert set(scoped(here, Patient)) == {world.patient_record, rosa}
    assert set(scoped(other, Patient)) == {world.caregiver_record, teen}
    assert set(scoped(platform, Patient)) == {p for p in Patient.objects.all() if not p.enrollments.exists()}
    assert not scoped(nowhere, Patient).exists()

    assert set(scoped(here, AccessRequest)) == {world.org_request, world.own_request}
    assert set(scoped(other, AccessRequest)) == set()
    assert set(scoped(platform, AccessRequest)) == {world.platform_request}

    assert all(g.patient.enrollments.filter(organization=world.org_here).exists() for g in scoped(here, ProxyGrant))
    assert world.grants["parent_of_teen"] in set(scoped(other, ProxyGrant))
    assert world.grants["parent_of_teen"] not in set(scoped(here, ProxyGrant))
    assert set(scoped(platform, ProxyGrant)) == set(ProxyGrant.objects.all())
