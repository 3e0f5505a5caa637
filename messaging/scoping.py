"""The staff side's read rules (accounts.scoping): an organization's desk sees its own messaging rows only.

The platform's desk sees none of them: clinics answer their own patients.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import Desk, staff_scope_rule
from messaging.models import Attachment, Message, Pharmacy, Pool, QuickReply, RefillRequest, Thread


@staff_scope_rule(Pool)
def _pools(queryset: QuerySet[Pool], desk: Desk) -> QuerySet[Pool]:
    return queryset.none() if desk.organization is None else queryset.filter(organization=desk.organization)


@staff_scope_rule(Thread)
def _threads(queryset: QuerySet[Thread], desk: Desk) -> QuerySet[Thread]:
    return queryset.none() if desk.organization is None else queryset.filter(organization=desk.organization)


@staff_scope_rule(Message)
def _messages(queryset: QuerySet[Message], desk: Desk) -> QuerySet[Message]:
    if desk.organization is None:
        return queryset.none()
    return queryset.filter(thread__organization=desk.organization)


@staff_scope_rule(Attachment)
def _attachments(queryset: QuerySet[Attachment], desk: Desk) -> QuerySet[Attachment]:
    if desk.organization is None:
        return queryset.none()
    return queryset.filter(message__thread__organization=desk.organization)


@staff_scope_rule(RefillRequest)
def _refills(queryset: QuerySet[RefillRequest], desk: Desk) -> QuerySet[RefillRequest]:
    return queryset.none() if desk.organization is None else queryset.filter(organization=desk.organization)


@staff_scope_rule(QuickReply)
def _quick_replies(queryset: QuerySet[QuickReply], desk: Desk) -> QuerySet[QuickReply]:
    return queryset.none() if desk.organization is None else queryset.filter(organization=desk.organization)


@staff_scope_rule(Pharmacy)
def _pharmacies(queryset: QuerySet[Pharmacy], desk: Desk) -> QuerySet[Pharmacy]:
    return queryset.none() if desk.organization is None else queryset.filter(organization=desk.organization)
