"""The patient's and caregiver's side of messages: the list, a new message, a thread, its files, email choices.

Every page is a subject page with the messaging scope: the person, or a caregiver whose grant includes
messaging. Which threads they see comes from messaging.access (a private thread only to the patient acting
for themselves); reads by anyone but the patient are audited by the declaration, and so land in the patient's
access history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from messaging import actions, selectors
from messaging.access import access_attachment_by_id, access_thread_by_id
from messaging.files import attachment_download
from messaging.forms import ComposeForm, EmailChoicesForm, ReplyForm
from messaging.models import ThreadStatus, Topic
from proxy.actions import NotAllowedError
from records.access import access_result_by_id

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

    from accounts.actors import Actor
    from accounts.models import Organization, Patient
    from accounts.requests import SignedInRequest
    from messaging.models import Attachment, Pool, Thread
    from records.models import FhirResource

PAGE_SIZE = 25
RESULT_SUBJECT = gettext_lazy("Question about a test result")


def _refused(request: HttpRequest, error: NotAllowedError) -> HttpResponse:
    """403: who asks may not do this (nothing was changed)."""
    return render(request, "messaging/refused.html", {"message": str(error)}, status=403)


def reply_due_words(moment: datetime | None) -> str:
    """The day a reply is due, in the reader's time zone."""
    if moment is None:
        return ""
    return date_format(timezone.localtime(moment), "DATE_FORMAT")


@dataclass
class Team:
    organization: Organization
    pools: list[Pool] = field(default_factory=list)


def _teams(pools: list[Pool]) -> list[Team]:
    teams: list[Team] = []
    for pool in pools:
        if not teams or teams[-1].organization.pk != pool.organization_id:
            teams.append(Team(organization=pool.organization))
        teams[-1].pools.append(pool)
    return teams


def _visible_result(actor: Actor, result_id: object) -> FhirResource | None:
    """A result the actor may read (records scope, sensitive ones only where shown), else None."""
    if result_id in (None, ""):
        return None
    try:
        return access_result_by_id(actor, result_id)
    except Http404:
        return None


# The list --------------------------------------------------------------------------------------------


@subject_page(Scope.MESSAGING, audit=AuditAction.MESSAGES_VIEWED)
@require_safe
def inbox(request: SignedInRequest, subject: Patient) -> HttpResponse:
    page = Paginator(selectors.patient_threads(request.actor), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "messaging/inbox.html", {"patient": subject, "page": page})


# A new message -----------------------------------------------------------------------------------------


@subject_page(Scope.MESSAGING)
@require_http_methods(["GET", "POST"])
def compose(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    pools = selectors.pools_to_write_to(actor)
    result: FhirResource | None = None
    result_source = ""
    if "result" in request.GET:
        # "Ask about this result": a query-string object, through its access helper (404 when not readable).
        result = access_result_by_id(actor, request.GET["result"])
        system = result.source.health_system
        organization_id = system.organization_id if system is not None else None
        pools = [pool for pool in pools if pool.organization_id == organization_id]
        result_source = system.name if system is not None else result.source.label
    initial: dict[str, Any] = {}
    if result is not None:
        initial.update(topic=Topic.RESULTS, subject=str(RESULT_SUBJECT))
    form = ComposeForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        actor=actor,
        patient=subject,
        pools=pools,
        initial=initial,
    )
    if request.method == "POST" and pools and form.is_valid():
        data = form.cleaned_data
        try:
            sent = actions.start_thread(
                actor=actor,
                pool=data["pool"],
                topic=data["topic"],
                subject=data["subject"],
                body=data["body"],
                files=data["attachments"],
                private=data.get("private", False),
                result=result,
                idempotency_key=data["key"],
                request=request,
            )
        except NotAllowedError as error:
            return _refused(request, error)
        except actions.MessagingError as error:
            form.add_error(None, str(error))
        else:
            if sent.created:
                messages.success(
                    request,
                    _("Your message was sent to %(team)s. Expect a reply by %(day)s.")
                    % {"team": sent.thread.pool.name, "day": reply_due_words(sent.thread.reply_due_at)},
                )
            return redirect("messaging:thread", thread_id=sent.thread.pk)
    return render(
        request,
        "messaging/compose.html",
        {
            "patient": subject,
            "form": form,
            "teams": _teams(pools),
            "result": result,
            "result_source": result_source,
            "query": request.GET.urlencode(),
        },
    )


# A thread ----------------------------------------------------------------------------------------------


@subject_page(Scope.MESSAGING, audit=AuditAction.MESSAGE_THREAD_VIEWED, objects={"thread_id": access_thread_by_id})
@require_http_methods(["GET", "POST"])
def thread(request: SignedInRequest, subject: Patient, thread: Thread) -> HttpResponse:
    actor = request.actor
    form = ReplyForm(
        request.POST if request.method == "POST" else None, request.FILES if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = actions.reply_as_patient(
                actor=actor,
                thread=thread,
                body=data["body"],
                files=data["attachments"],
                idempotency_key=data["key"],
                request=request,
            )
        except NotAllowedError as error:
            return _refused(request, error)
        except actions.MessagingError as error:
            form.add_error(None, str(error))
        else:
            if sent.created:
                messages.success(
                    request,
                    _("Your message was sent. Expect a reply by %(day)s.")
                    % {"day": reply_due_words(sent.thread.reply_due_at)},
                )
            return redirect(reverse("messaging:thread", args=[thread.pk]) + f"#message-{sent.message.pk}")
    read_before = selectors.last_read_at(actor.user, thread)
    history = list(selectors.thread_messages(thread, staff_side=False))
    response = render(
        request,
        "messaging/thread.html",
        {
            "patient": subject,
            "thread": thread,
            "history": history,
            "read_before": read_before,
            "result": _visible_result(actor, thread.result_id),
            "form": form,
            "reply_due": reply_due_words(thread.reply_due_at) if thread.status == ThreadStatus.WAITING_ON_STAFF else "",
        },
    )
    if actor.user is not None and request.method == "GET":
        actions.mark_read(user=actor.user, thread=thread)
    return response


@subject_page(
    Scope.MESSAGING,
    audit=AuditAction.MESSAGE_ATTACHMENT_VIEWED,
    audit_self=True,
    objects={"thread_id": access_thread_by_id, "attachment_id": access_attachment_by_id},
)
@require_safe
def attachment(request: SignedInRequest, subject: Patient, thread: Thread, attachment: Attachment) -> HttpResponseBase:
    return attachment_download(attachment)


# A caregiver's emails ------------------------------------------------------------------------------------


@subject_page(Scope.MESSAGING)
@require_http_methods(["GET", "POST"])
def email_choices(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    refills = Scope.REFILLS in actor.scopes
    chosen = selectors.notification_choice(actor)
    initial = {
        "messages": bool(chosen and chosen.messages),
        "refill_reminders": bool(chosen and chosen.refill_reminders),
    }
    form = EmailChoicesForm(request.POST if request.method == "POST" else None, initial=initial, refills=refills)
    if request.method == "POST" and form.is_valid():
        try:
            actions.choose_notifications(
                actor=actor,
                messages=form.cleaned_data["messages"],
                refill_reminders=form.cleaned_data.get("refill_reminders", False),
                request=request,
            )
        except NotAllowedError as error:
            return _refused(request, error)
        messages.success(request, _("Your email choices are saved."))
        return redirect("messaging:email_choices")
    return render(request, "messaging/email_choices.html", {"patient": subject, "form": form, "refills": refills})
