"""A patient's own access history: who did what with their record, and when."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import tzinfo

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts.actors import Actor, Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction, action_label, basis_label
from accounts.csv_safety import safe_row
from accounts.forms import AccessHistoryFilterForm
from accounts.models import AuditEvent, Patient
from accounts.requests import SignedInRequest
from accounts.selectors import access_history_for, actions_in_history

PAGE_SIZE = 50


def _filtered(request: HttpRequest, actor: Actor) -> tuple[AccessHistoryFilterForm, QuerySet[AuditEvent]]:
    form = AccessHistoryFilterForm(request.GET or None, actions=actions_in_history(actor))
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = access_history_for(
        actor, since=filters.get("since"), until=filters.get("until"), action=filters.get("action") or None
    ).select_related("actor_user")
    return form, events


# The patient's own history, and their representatives' (anyone who may manage who has access, e.g. a
# power of attorney); not every helper's. Recorded first, so that the page lists this opening too.
@subject_page(Scope.MANAGE_PROXIES, audit=AuditAction.ACCESS_HISTORY_VIEWED, audit_self=True, audit_first=True)
@require_safe
def access_history(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    form, events = _filtered(request, actor)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/access_history.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: QuerySet[AuditEvent], *, language: str | None, zone: tzinfo) -> Iterator[str]:
    # Streamed after the view has returned: the person's language and time zone are carried along.
    with translation.override(language), timezone.override(zone):
        writer = csv.writer(_Echo())
        yield writer.writerow([_("When"), _("Who"), _("Access type"), _("What happened"), _("IP address")])
        for event in events.iterator(chunk_size=500):
            yield writer.writerow(
                safe_row(
                    [
                        timezone.localtime(event.occurred_at).isoformat(timespec="seconds"),
                        event.actor_name or "—",
                        basis_label(event.basis),
                        action_label(event.action),
                        event.ip or "",
                    ]
                )
            )


@subject_page(Scope.MANAGE_PROXIES, audit=AuditAction.ACCESS_HISTORY_DOWNLOADED, audit_self=True, audit_first=True)
@require_safe
def access_history_csv(request: SignedInRequest, subject: Patient) -> StreamingHttpResponse:
    actor = request.actor
    _, events = _filtered(request, actor)
    rows = _csv_rows(events, language=translation.get_language(), zone=timezone.get_current_timezone())
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="access-history.csv"'
    response["Cache-Control"] = "no-store"
    return response
