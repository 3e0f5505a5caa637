"""The staff side of messaging at an organization's desk: the inbox, a thread and its answers, reply templates.

Every page is a staff page of the organization the URL names, for its inbox roles (messaging.access.INBOX_ROLES);
threads, files, colleagues and templates arrive checked by messaging.access; writes go through
messaging.actions. A refusal of who asks answers 403 with nothing changed; a change that can no longer be
made (someone else took the thread first, it is closed already) answers 409 on the thread's page, saying why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actions.audit import record_audit_events
from accounts.actors import Actor
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from accounts.models import Role
from accounts.requests import SignedInRequest
from messaging import actions, selectors
from messaging.access import (
    INBOX_ROLES,
    access_colleague_by_id,
    access_pool_by_id,
    access_quick_reply_by_id,
    access_staff_attachment_by_id,
    access_staff_thread_by_id,
    colleagues_at_desk,
)
from messaging.files import attachment_download
from messaging.forms_staff import (
    FILTER_LABELS,
    AssignForm,
    InboxQueryForm,
    NoteForm,
    QuickReplyForm,
    StaffReplyForm,
)
from messaging.models import Attachment, QuickReply, Thread, ThreadStatus, Topic
from messaging.selectors import InboxFilter

ADMINS = frozenset({Role.ORG_ADMIN})
INBOX_PAGE_SIZE = 50
REFUSED = 403
CONFLICT = 409
THREAD = {"thread_id": access_staff_thread_by_id}


# The inbox ----------------------------------------------------------------------------------------------


def _inbox_link(organization_slug: str, **query: str) -> str:
    shown = {key: value for key, value in query.items() if value}
    base = reverse("messaging:staff_inbox", kwargs={"org_slug": organization_slug})
    return f"{base}?{urlencode(shown)}" if shown else base


def _inbox_rows(threads: list[Thread], now: datetime) -> list[dict[str, Any]]:
    """What each row shows, as plain values: a page of 50 renders without the template walking every model."""
    topics = {value: str(label) for value, label in Topic.choices}
    statuses = {value: str(label) for value, label in ThreadStatus.choices}
    rows = []
    for thread in threads:
        person = thread.assigned_to
        due = thread.reply_due_at
        rows.append(
            {
                "pk": thread.pk,
                "patient": f"{thread.patient.family_name}, {thread.patient.given_name}",
                "mrn": getattr(thread, "mrn", "") or "",
                "subject": thread.subject,
                "topic": topics.get(thread.topic, thread.topic),
                "pool": thread.pool.name,
                "assigned": (person.full_name or person.email) if person is not None else "",
                "due": date_format(timezone.localtime(due), "SHORT_DATE_FORMAT") if due else "",
                "status": statuses.get(thread.status, thread.status),
                "overdue": thread.is_overdue(now),
                "unread": bool(getattr(thread, "unread", False)),
            }
        )
    return rows


@staff_page(roles=INBOX_ROLES)
@require_safe
def inbox(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """The desk's threads: a filter, a pool (or all), a search; overdue first; a page of 50, never counted."""
    organization = staff.organization
    query = InboxQueryForm(request.GET)
    view = query.chosen_view()
    search = query.search()
    raw_pool = (request.GET.get("pool") or "").strip()
    pool = access_pool_by_id(staff, raw_pool) if raw_pool else None
    rows = selectors.inbox(staff, pool_id=pool.pk if pool else None, view=view, search=search)
    page = selectors.inbox_page(rows, request.GET.get("page"), INBOX_PAGE_SIZE)
    # Each patient listed is in their access history: one row per thread shown, one statement.
    record_audit_events(
        action=AuditAction.MESSAGE_INBOX_VIEWED,
        actor=staff,
        request=request,
        rows=[(thread.patient, "thread", thread.pk) for thread in page],
    )
    pool_value = str(pool.pk) if pool else ""
    tabs = [
        {
            "label": label,
            "url": _inbox_link(
                organization.slug, view=value if value != InboxFilter.OPEN else "", pool=pool_value, q=search
            ),
            "current": value == view,
        }
        for value, label in FILTER_LABELS.items()
    ]
    now = timezone.now()
    return render(
        request,
        "messaging/staff/inbox.html",
        {
            "organization": organization,
            "page": page,
            "rows": _inbox_rows(list(page), now),
            "tabs": tabs,
            "view": view,
            "view_label": FILTER_LABELS[view],
            "pools": selectors.desk_pools(staff),
            "pool": pool,
            "q": search,
            "query": urlencode({k: v for k, v in {"view": view, "pool": pool_value, "q": search}.items() if v}),
            "is_admin": staff.is_org_admin_of(organization.pk),
            # Each row links to its thread under the inbox's address (one reverse() for the page, not one a row).
            "inbox_base": reverse("messaging:staff_inbox", kwargs={"org_slug": organization.slug}),
        },
    )


# A thread -----------------------------------------------------------------------------------------------


def _thread_page(
    request: SignedInRequest,
    staff: Actor,
    thread: Thread,
    *,
    reply_form: StaffReplyForm | None = None,
    note_form: NoteForm | None = None,
    assign_form: AssignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = staff.organization
    colleagues = list(colleagues_at_desk(staff))
    return render(
        request,
        "messaging/staff/thread.html",
        {
            "organization": organization,
            "thread": thread,
            "overdue": thread.is_overdue(),
            "history": list(selectors.thread_messages(thread, staff_side=True)),
            "panel": selectors.patient_panel(staff, thread),
            "reply_form": reply_form or StaffReplyForm(),
            "note_form": note_form or NoteForm(),
            "assign_form": assign_form
            or AssignForm(colleagues=colleagues, initial={"assignee": thread.assigned_to_id or ""}),
            "quick_replies": selectors.quick_replies(staff),
            "mine": thread.assigned_to_id == (staff.user.pk if staff.user else None),
        },
        status=status,
    )


@staff_page(roles=INBOX_ROLES, audit=AuditAction.MESSAGE_THREAD_VIEWED, objects=THREAD)
@require_safe
def thread_page(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    """The whole history (internal notes and updates too), the patient beside it, and the ways to answer.

    `?quick=<id>` fills the reply with one of the organization's templates (no script needed).
    """
    raw_quick = (request.GET.get("quick") or "").strip()
    initial: dict[str, Any] = {}
    if raw_quick:
        initial["body"] = access_quick_reply_by_id(staff, raw_quick).body
    response = _thread_page(request, staff, thread, reply_form=StaffReplyForm(initial=initial))
    assert staff.user is not None
    actions.mark_read(user=staff.user, thread=thread)
    return response


@staff_page(
    roles=INBOX_ROLES,
    audit=AuditAction.MESSAGE_ATTACHMENT_VIEWED,
    objects={"thread_id": access_staff_thread_by_id, "attachment_id": access_staff_attachment_by_id},
)
@require_safe
def attachment(request: SignedInRequest, staff: Actor, thread: Thread, attachment: Attachment) -> HttpResponseBase:
    return attachment_download(attachment)


def _refused(request: SignedInRequest, staff: Actor, thread: Thread, error: Exception) -> HttpResponse:
    messages.error(request, str(error))
    return _thread_page(request, staff, thread, status=REFUSED)


def _conflict(request: SignedInRequest, staff: Actor, thread: Thread, error: Exception) -> HttpResponse:
    """Nothing changed: the thread's page as it is now, saying why (someone else took it, it is closed already)."""
    messages.error(request, str(error))
    thread.refresh_from_db()
    return _thread_page(request, staff, thread, status=CONFLICT)


def _to_thread(thread: Thread, staff: Actor) -> HttpResponse:
    return redirect("messaging:staff_thread", org_slug=staff.organization.slug, thread_id=thread.pk)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def reply(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    form = StaffReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _thread_page(request, staff, thread, reply_form=form, status=400)
    close = bool(form.cleaned_data["close"])
    try:
        actions.reply_as_staff(
            staff=staff,
            thread=thread,
            body=form.cleaned_data["body"],
            files=form.cleaned_data["attachments"],
            close=close,
            request=request,
        )
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        form.add_error(None, str(error))
        return _thread_page(request, staff, thread, reply_form=form, status=400)
    if close:
        messages.success(request, _("Your reply is sent and the conversation is closed."))
        return redirect("messaging:staff_inbox", org_slug=staff.organization.slug)
    messages.success(request, _("Your reply is sent. The patient's side is told by email that there is a reply."))
    return _to_thread(thread, staff)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def note(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _thread_page(request, staff, thread, note_form=form, status=400)
    try:
        actions.add_note(staff=staff, thread=thread, body=form.cleaned_data["body"], request=request)
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        form.add_error(None, str(error))
        return _thread_page(request, staff, thread, note_form=form, status=400)
    messages.success(request, _("Your note is saved. Only the care team sees it."))
    return _to_thread(thread, staff)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def claim(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    try:
        actions.claim_thread(staff=staff, thread=thread, request=request)
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        return _conflict(request, staff, thread, error)
    messages.success(request, _("The conversation is yours."))
    return _to_thread(thread, staff)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def assign(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    form = AssignForm(request.POST, colleagues=list(colleagues_at_desk(staff)))
    if not form.is_valid():
        return _thread_page(request, staff, thread, assign_form=form, status=400)
    chosen = form.cleaned_data["assignee"]
    assignee = access_colleague_by_id(staff, chosen) if chosen else None
    try:
        actions.assign_thread(staff=staff, thread=thread, assignee=assignee, request=request)
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        return _conflict(request, staff, thread, error)
    if assignee is None:
        messages.success(request, _("The conversation is back in the team's inbox."))
    else:
        messages.success(
            request, _("The conversation is now with %(name)s.") % {"name": assignee.full_name or assignee.email}
        )
    return _to_thread(thread, staff)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def close(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    try:
        actions.close_thread(staff=staff, thread=thread, request=request)
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        return _conflict(request, staff, thread, error)
    messages.success(request, _("The conversation is closed."))
    return redirect("messaging:staff_inbox", org_slug=staff.organization.slug)


@staff_page(roles=INBOX_ROLES, objects=THREAD)
@require_POST
def reopen(request: SignedInRequest, staff: Actor, thread: Thread) -> HttpResponse:
    try:
        actions.reopen_thread(staff=staff, thread=thread, request=request)
    except actions.NotAllowedError as error:
        return _refused(request, staff, thread, error)
    except actions.MessagingError as error:
        return _conflict(request, staff, thread, error)
    messages.success(request, _("The conversation is open again and waits for the care team."))
    return _to_thread(thread, staff)


# Reply templates (the organization's admins) ------------------------------------------------------------


def _templates_page(request: SignedInRequest, staff: Actor, form: QuickReplyForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "messaging/staff/quick_replies.html",
        {"organization": staff.organization, "quick_replies": selectors.quick_replies(staff), "form": form},
        status=status,
    )


@staff_page(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def quick_replies(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """The organization's reply templates, and a new one."""
    form = QuickReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_quick_reply(
                staff=staff, title=form.cleaned_data["title"], body=form.cleaned_data["body"], request=request
            )
        except actions.NotAllowedError as error:
            messages.error(request, str(error))
            return _templates_page(request, staff, form, status=REFUSED)
        except actions.MessagingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The template is saved."))
            return redirect("messaging:quick_replies", org_slug=staff.organization.slug)
    return _templates_page(request, staff, form, status=400 if request.method == "POST" else 200)


@staff_page(roles=ADMINS, objects={"quick_reply_id": access_quick_reply_by_id})
@require_http_methods(["GET", "POST"])
def quick_reply_edit(request: SignedInRequest, staff: Actor, quick_reply: QuickReply) -> HttpResponse:
    form = QuickReplyForm(request.POST or None, initial={"title": quick_reply.title, "body": quick_reply.body})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.save_quick_reply(
                    staff=staff,
                    quick_reply=quick_reply,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    request=request,
                )
            except actions.NotAllowedError as error:
                messages.error(request, str(error))
                status = REFUSED
            except actions.MessagingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("The template is saved."))
                return redirect("messaging:quick_replies", org_slug=staff.organization.slug)
    return render(
        request,
        "messaging/staff/quick_reply_edit.html",
        {"organization": staff.organization, "quick_reply": quick_reply, "form": form},
        status=status,
    )


@staff_page(roles=ADMINS, objects={"quick_reply_id": access_quick_reply_by_id})
@require_POST
def quick_reply_delete(request: SignedInRequest, staff: Actor, quick_reply: QuickReply) -> HttpResponse:
    try:
        actions.delete_quick_reply(staff=staff, quick_reply=quick_reply, request=request)
    except actions.NotAllowedError as error:
        messages.error(request, str(error))
        return _templates_page(request, staff, QuickReplyForm(), status=REFUSED)
    messages.success(request, _("The template is deleted."))
    return redirect("messaging:quick_replies", org_slug=staff.organization.slug)
