"""The staff scoping rules for proxy access (see accounts.scoping).

An organization's desk reviews requests that name it and sees grants for the
patients enrolled there; the platform's desk reviews requests that name no
organization and sees every grant.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import Desk, staff_scope_rule
from proxy.models import AccessRequest, AccessRequestDocument, ProxyGrant


@staff_scope_rule(AccessRequest)
def _access_requests(queryset: QuerySet[AccessRequest], desk: Desk) -> QuerySet[AccessRequest]:
    if desk.organization is None:
        return queryset.filter(organization__isnull=True)
    return queryset.filter(organization=desk.organization)


@staff_scope_rule(AccessRequestDocument)
def _documents(queryset: QuerySet[AccessRequestDocument], desk: Desk) -> QuerySet[AccessRequestDocument]:
    if desk.organization is None:
        return queryset.filter(request__organization__isnull=True)
    return queryset.filter(request__organization=desk.organization)


@staff_scope_rule(ProxyGrant)
def _grants(queryset: QuerySet[ProxyGrant], desk: Desk) -> QuerySet[ProxyGrant]:
    if desk.organization is None:
        return queryset
    # A patient enrolled once per organization (a unique constraint), so the join adds no duplicates.
    return queryset.filter(patient__enrollments__organization=desk.organization)
