"""Sharing the record with a SMART Health Link: the person's list of links, one link with its QR code, ending one.

Subject pages with the records scope: the person, or a caregiver acting for them. A link holds what its
maker could see when it was made (records.actions.create_share_link); someone from whom sensitive items
stay hidden sees only the links they made (records.access.share_links_visible_to).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records import actions, shlinks
from records.access import access_share_link_by_id, recent_openings, share_links_visible_to
from records.forms import ShareLinkForm
from records.models import ShareLink

LINKS_SHOWN = 100


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_SHARE_LINKS_VIEWED)
@require_http_methods(["GET", "POST"])
def share_links(request: SignedInRequest, subject: Patient) -> HttpResponse:
    """The links made for this record (with where each stands), and the form for a new one."""
    if request.method == "POST":
        form = ShareLinkForm(request.POST, patient=subject)
        if form.is_valid():
            data = form.cleaned_data
            link = actions.create_share_link(
                actor=request.actor,
                label=data["label"],
                days=data["days"],
                passcode=data["passcode"],
                content=data["content"],
                start=data["start"],
                end=data["end"],
                request=request,
            )
            messages.success(request, _("The link is ready. Show its QR code or copy it below."))
            return redirect("records:share_link", link_id=link.pk)
    else:
        form = ShareLinkForm(patient=subject)
    links = list(
        share_links_visible_to(request.actor).select_related("created_by").order_by("-created_at", "-pk")[:LINKS_SHOWN]
    )
    return render(request, "records/share_links.html", {"patient": subject, "form": form, "links": links})


@subject_page(
    Scope.RECORDS,
    audit=AuditAction.RECORDS_SHARE_LINK_VIEWED,
    audit_self=True,
    objects={"link_id": access_share_link_by_id},
)
@require_safe
def share_link(request: SignedInRequest, subject: Patient, link: ShareLink) -> HttpResponse:
    """One link: while it works, the link and its QR code again; always, everyone who used it and how it went.

    Showing the link again shows its key, so every opening of this page is recorded, the person's own too.
    """
    text = shlinks.share_link_text(request, link) if link.works else ""
    openings, more_openings = recent_openings(link)
    return render(
        request,
        "records/share_link.html",
        {
            "patient": subject,
            "link": link,
            "link_text": text,
            "qr_svg": shlinks.qr_svg(text) if text else "",
            "openings": openings,
            "more_openings": more_openings,
        },
    )


@subject_page(Scope.RECORDS, objects={"link_id": access_share_link_by_id})
@require_POST
def revoke_share_link(request: SignedInRequest, subject: Patient, link: ShareLink) -> HttpResponse:
    actions.revoke_share_link(actor=request.actor, link=link, request=request)
    messages.success(request, _("The link no longer works. Anyone who tries it is told so."))
    return redirect("records:share_link", link_id=link.pk)
