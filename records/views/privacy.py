"""The patient's privacy choices for their record: private items shown to helpers, results that wait.

Only the patient acting for themselves reaches these pages (records.privacy.own_record answers 404 to
anyone else, caregivers included); every change goes through an action in records.privacy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from proxy.actions import NotAllowedError
from records import access, privacy

if TYPE_CHECKING:
    from accounts.models import Patient
    from accounts.requests import SignedInRequest
    from proxy.models import ProxyGrant
    from records.models import FhirResource, SensitiveShare


def _refused(request: SignedInRequest, error: NotAllowedError) -> HttpResponse:
    return render(request, "records/privacy_refused.html", {"message": str(error)}, status=403)


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_PRIVACY_VIEWED)
@require_safe
def privacy_page(request: SignedInRequest, subject: Patient) -> HttpResponse:
    choices = privacy.privacy_choices(request.actor)
    return render(
        request,
        "records/privacy.html",
        {"patient": subject, "helpers": choices.helpers, "waiting": choices.waiting},
    )


@subject_page(Scope.RECORDS)
@require_POST
def results_wait(request: SignedInRequest, subject: Patient) -> HttpResponse:
    wait = request.POST.get("wait") == "on"
    try:
        privacy.wait_for_discussion(actor=request.actor, wait=wait, request=request)
    except NotAllowedError as error:
        return _refused(request, error)
    messages.success(
        request,
        _("Private test results will wait until you choose to see them.")
        if wait
        else _("Private test results are shown as soon as they arrive."),
    )
    return redirect("records:privacy")


@subject_page(Scope.RECORDS, objects={"result_id": access.access_waiting_result_by_id})
@require_POST
def release_result(request: SignedInRequest, subject: Patient, result: FhirResource) -> HttpResponse:
    try:
        privacy.release_result(actor=request.actor, result=result, request=request)
    except NotAllowedError as error:
        return _refused(request, error)
    return redirect("records:item", item_id=result.pk)


@subject_page(Scope.RECORDS, objects={"grant_id": access.access_private_item_helper_by_id})
@require_POST
def private_kinds(request: SignedInRequest, subject: Patient, grant: ProxyGrant) -> HttpResponse:
    try:
        privacy.choose_private_kinds(
            actor=request.actor, grant=grant, categories=request.POST.getlist("kind"), request=request
        )
    except NotAllowedError as error:
        return _refused(request, error)
    messages.success(request, _("Saved what this person may see."))
    return redirect("records:privacy")


@subject_page(Scope.RECORDS, objects={"item_id": access.access_private_item_by_id})
@require_POST
def show_item(request: SignedInRequest, subject: Patient, item: FhirResource) -> HttpResponse:
    grant = access.access_private_item_helper_by_id(request.actor, request.POST.get("grant", ""))
    try:
        privacy.show_private_item(actor=request.actor, grant=grant, item=item, request=request)
    except NotAllowedError as error:
        return _refused(request, error)
    messages.success(request, _("%(name)s can now see this item.") % {"name": grant.grantee})
    return redirect("records:item", item_id=item.pk)


@subject_page(Scope.RECORDS, objects={"share_id": access.access_private_item_share_by_id})
@require_POST
def stop_showing(request: SignedInRequest, subject: Patient, share: SensitiveShare) -> HttpResponse:
    try:
        privacy.stop_showing(actor=request.actor, share=share, request=request)
    except NotAllowedError as error:
        return _refused(request, error)
    messages.success(request, _("They no longer see it."))
    if share.resource_id is not None and request.POST.get("back") == "item":
        return redirect("records:item", item_id=share.resource_id)
    return redirect("records:privacy")
