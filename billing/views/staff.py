"""The billing desk: balances and plans, an account's ledger, charges, adjustments, bills, refunds, file imports.

Billing staff and organization admins only (BILLING_ROLES); anyone else at the organization gets 404, as for
a page that does not exist. Every account listed or opened goes into its patient's access history.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actions.audit import record_audit_events
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from billing import selectors
from billing.access import (
    BILLING_ROLES,
    access_staff_account_by_id,
    access_staff_enrollment_by_id,
    access_staff_payment_by_id,
)
from billing.actions import issue_statement, open_account, post_entry, refund_payment
from billing.forms import AmountField
from billing.gateways import GatewayError
from billing.imports import MAX_FILE_BYTES, StatementFileError, import_statement_file
from billing.models import EntryKind
from proxy.actions import NotAllowedError

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.models import Enrollment
    from accounts.requests import SignedInRequest
    from billing.models import BillingAccount, Payment

PAGE_SIZE = 50


class EntryForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What to post"),
        choices=[
            (EntryKind.CHARGE, gettext_lazy("A charge for a visit")),
            (EntryKind.INSURANCE_PAYMENT, gettext_lazy("A payment from insurance")),
            ("lower", gettext_lazy("An adjustment that lowers the balance")),
            ("raise", gettext_lazy("An adjustment that raises the balance")),
        ],
    )
    amount = AmountField(label=gettext_lazy("Amount"))
    visit_number = forms.CharField(label=gettext_lazy("Visit or claim number"), max_length=40, required=False)
    service_date = forms.DateField(
        label=gettext_lazy("Date of service"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=gettext_lazy("What it is for (the patient reads this)"), max_length=200, required=False
    )
    reason = forms.CharField(label=gettext_lazy("Reason (adjustments)"), max_length=300, required=False)
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)


class StatementForm(forms.Form):
    due_on = forms.DateField(label=gettext_lazy("Due on"), widget=forms.DateInput(attrs={"type": "date"}))


class RefundForm(forms.Form):
    amount = AmountField(label=gettext_lazy("Amount to refund"))
    reason = forms.CharField(label=gettext_lazy("Reason (the patient reads this)"), max_length=300)
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Statement file (CSV)"))
    due_on = forms.DateField(
        label=gettext_lazy("Send the bills, due on (leave empty to post the rows only)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _audit_accounts(request: SignedInRequest, staff: Actor, accounts: list[BillingAccount]) -> None:
    record_audit_events(
        action=AuditAction.BILLS_VIEWED,
        actor=staff,
        request=request,
        rows=[(account.patient, "billing_account", account.pk) for account in accounts],
    )


@staff_page(roles=BILLING_ROLES)
@require_safe
def desk_home(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """The desk's accounts, largest balance first (or those matching a name or MRN), and patients to open."""
    query = (request.GET.get("q") or "").strip()[:100]
    owing_only = request.GET.get("owing") == "1"
    page = Paginator(selectors.desk_accounts(staff, owing_only=owing_only, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    accounts = list(page.object_list)
    _audit_accounts(request, staff, accounts)
    return render(
        request,
        "billing/staff/home.html",
        {
            "organization": staff.organization,
            "page": page,
            "accounts": accounts,
            "query": query,
            "page_query": urlencode(
                {key: value for key, value in (("q", query), ("owing", "1" if owing_only else "")) if value}
            ),
            "owing_only": owing_only,
            "to_open": selectors.patients_without_account(staff, query) if query else [],
        },
    )


@staff_page(roles=BILLING_ROLES)
@require_POST
def open_account_view(request: SignedInRequest, staff: Actor) -> HttpResponse:
    enrollment: Enrollment = access_staff_enrollment_by_id(staff, request.POST.get("enrollment"))
    account = open_account(staff=staff, enrollment=enrollment, request=request)
    return redirect("billing:staff_account", org_slug=staff.organization.slug, account_id=account.pk)


def _account_page(
    request: SignedInRequest,
    staff: Actor,
    account: BillingAccount,
    *,
    entry_form: EntryForm | None = None,
    statement_form: StatementForm | None = None,
    refund_forms: dict[str, RefundForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    view = selectors.statement_of(account)
    payments = selectors.payments_of(account)
    refund_forms = refund_forms or {}
    return render(
        request,
        "billing/staff/account.html",
        {
            "organization": staff.organization,
            "account": account,
            "view": view,
            "payments": [
                (payment, refund_forms.get(str(payment.pk)) or RefundForm(initial={"key": uuid.uuid4().hex}))
                for payment in payments
            ],
            "entry_form": entry_form or EntryForm(initial={"key": uuid.uuid4().hex}),
            "statement_form": statement_form
            or StatementForm(initial={"due_on": timezone.localdate() + timedelta(days=30)}),
        },
        status=status,
    )


@staff_page(roles=BILLING_ROLES, audit=AuditAction.BILLS_VIEWED, objects={"account_id": access_staff_account_by_id})
@require_safe
def account_page(request: SignedInRequest, staff: Actor, account: BillingAccount) -> HttpResponse:
    return _account_page(request, staff, account)


@staff_page(roles=BILLING_ROLES, objects={"account_id": access_staff_account_by_id})
@require_POST
def post_entry_view(request: SignedInRequest, staff: Actor, account: BillingAccount) -> HttpResponse:
    form = EntryForm(request.POST)
    if form.is_valid():
        chosen = form.cleaned_data["kind"]
        try:
            post_entry(
                staff=staff,
                account=account,
                kind=EntryKind.ADJUSTMENT if chosen in ("lower", "raise") else chosen,
                lowers=chosen != "raise",
                amount_cents=form.cleaned_data["amount"],
                visit_number=form.cleaned_data["visit_number"],
                service_date=form.cleaned_data["service_date"],
                description=form.cleaned_data["description"],
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["key"],
                request=request,
            )
        except ValidationError as error:
            form.add_error("amount" if error.code and "amount" in error.code else None, error)
        else:
            messages.success(request, _("Posted. The balance below includes it."))
            return redirect("billing:staff_account", org_slug=staff.organization.slug, account_id=account.pk)
    return _account_page(request, staff, account, entry_form=form, status=400)


@staff_page(roles=BILLING_ROLES, objects={"account_id": access_staff_account_by_id})
@require_POST
def send_statement(request: SignedInRequest, staff: Actor, account: BillingAccount) -> HttpResponse:
    form = StatementForm(request.POST)
    if form.is_valid():
        try:
            issue_statement(staff=staff, account=account, due_on=form.cleaned_data["due_on"], request=request)
        except ValidationError as error:
            form.add_error("due_on", error)
        else:
            messages.success(request, _("The bill was sent. The patient and their helpers got an email to sign in."))
            return redirect("billing:staff_account", org_slug=staff.organization.slug, account_id=account.pk)
    return _account_page(request, staff, account, statement_form=form, status=400)


@staff_page(
    roles=BILLING_ROLES,
    objects={"account_id": access_staff_account_by_id, "payment_id": access_staff_payment_by_id},
)
@require_POST
def refund(request: SignedInRequest, staff: Actor, account: BillingAccount, payment: Payment) -> HttpResponse:
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            refund_payment(
                staff=staff,
                payment=payment,
                amount_cents=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["key"],
                request=request,
            )
        except ValidationError as error:
            form.add_error("amount" if error.code and "amount" in error.code else None, error)
        except GatewayError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Refunded. The money goes back to the card it came from."))
            return redirect("billing:staff_account", org_slug=staff.organization.slug, account_id=account.pk)
    return _account_page(request, staff, account, refund_forms={str(payment.pk): form}, status=400)


@staff_page(roles=BILLING_ROLES)
@require_http_methods(["GET", "HEAD", "POST"])
def import_file(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """A statement file from the billing system: every row checked first, then all written or none."""
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > MAX_FILE_BYTES:
                    raise StatementFileError([_("The file is larger than 2 MB. Split it into smaller files.")])
                result = import_statement_file(
                    staff=staff, raw=upload.read(), due_on=form.cleaned_data["due_on"], request=request
                )
            except StatementFileError as error:
                problems = error.problems
            except (ValidationError, NotAllowedError) as error:
                problems = list(getattr(error, "messages", [str(error)]))
            else:
                if result.already_imported and not result.rows:
                    messages.info(request, _("This file was imported before: nothing was posted again."))
                else:
                    messages.success(
                        request,
                        ngettext(
                            "%(rows)s row posted to %(accounts)s accounts.",
                            "%(rows)s rows posted to %(accounts)s accounts.",
                            result.rows,
                        )
                        % {"rows": result.rows, "accounts": result.accounts},
                    )
                return redirect("billing:staff_home", org_slug=staff.organization.slug)
    return render(
        request,
        "billing/staff/import.html",
        {"organization": staff.organization, "form": form, "problems": problems},
        status=status,
    )


@staff_page(roles=BILLING_ROLES)
@require_safe
def plans(request: SignedInRequest, staff: Actor) -> HttpResponse:
    page = Paginator(selectors.desk_plans(staff), PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    record_audit_events(
        action=AuditAction.BILLS_VIEWED,
        actor=staff,
        request=request,
        rows=[(plan.account.patient, "payment_plan", plan.pk) for plan in shown],
    )
    return render(
        request, "billing/staff/plans.html", {"organization": staff.organization, "page": page, "plans": shown}
    )
