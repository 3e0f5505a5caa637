"""The patient's and caregiver's side: bills from every organization, paying, payment plans, receipts.

Every page needs the billing scope (accounts.audience.subject_page). Paying sends the person to the
processor's own page (the card is typed there, never here) and back to the payment's page, which asks the
processor how it went. Each pay form carries a key made when the page was drawn: sent twice, it pays once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from billing import selectors
from billing.access import access_account_by_id, access_payment_by_id, access_plan_by_id
from billing.forms import AmountField
from billing.gateways import GatewayError
from billing.insurance import coverage_on_file, insurance_beside
from billing.models import PaymentStatus
from billing.money import cents_to_text
from billing.payments import (
    MAX_PLAN_MONTHS,
    ReturnUrls,
    resume_plan,
    settle_payment,
    smallest_instalment,
    start_payment,
    start_plan,
    stop_plan,
)
from billing.receipts import receipt_pdf

if TYPE_CHECKING:
    from accounts.models import Patient
    from accounts.requests import SignedInRequest
    from billing.models import BillingAccount, Payment, PaymentPlan


class PayForm(forms.Form):
    amount = AmountField(label=gettext_lazy("Amount to pay"))
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)


class PlanForm(forms.Form):
    instalment = AmountField(label=gettext_lazy("Each month"))
    day_of_month = forms.TypedChoiceField(
        label=gettext_lazy("On day of the month"), coerce=int, choices=[(day, str(day)) for day in range(1, 29)]
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def _return_urls(request: SignedInRequest) -> Callable[[Payment], ReturnUrls]:
    def urls(payment: Payment) -> ReturnUrls:
        page = request.build_absolute_uri(reverse("billing:payment", args=[payment.pk]))
        return ReturnUrls(success=page, cancel=page + "?cancelled=1")

    return urls


@subject_page(Scope.BILLING, audit=AuditAction.BILLS_VIEWED)
@require_safe
def bills(request: SignedInRequest, subject: Patient) -> HttpResponse:
    """Every organization's bill for the person: balance and due date, each opening its statement."""
    return render(request, "billing/bills.html", {"patient": subject, "accounts": selectors.accounts_of(request.actor)})


def _statement_page(
    request: SignedInRequest,
    account: BillingAccount,
    *,
    pay_form: PayForm | None = None,
    plan_form: PlanForm | None = None,
    status: int = 200,
) -> HttpResponse:
    view = selectors.statement_of(account)
    insurance_beside(request.actor, account, view.visits)
    owing = max(view.balance, 0)
    return render(
        request,
        "billing/statement.html",
        {
            "account": account,
            "view": view,
            "coverages": coverage_on_file(request.actor),
            "payments": selectors.payments_of(account),
            "pay_form": pay_form or PayForm(initial={"amount": cents_to_text(owing), "key": uuid.uuid4().hex}),
            "plan_form": plan_form
            or PlanForm(initial={"instalment": cents_to_text(smallest_instalment(owing)), "key": uuid.uuid4().hex}),
            "smallest_instalment": smallest_instalment(owing),
            "max_months": MAX_PLAN_MONTHS,
            "resume_key": uuid.uuid4().hex,
        },
        status=status,
    )


@subject_page(Scope.BILLING, audit=AuditAction.BILLS_VIEWED, objects={"account_id": access_account_by_id})
@require_safe
def statement(request: SignedInRequest, subject: Patient, account: BillingAccount) -> HttpResponse:
    return _statement_page(request, account)


def _see_other(url: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


def _to_checkout(payment: Payment) -> HttpResponse:
    """To the payment's own page, which links to the processor's: a form of ours never lands on another site
    (the Content-Security-Policy's form-action), and the person sees they are leaving for the card page."""
    return _see_other(reverse("billing:payment", args=[payment.pk]))


def _start_from_form(
    request: SignedInRequest,
    account: BillingAccount,
    form: PayForm | PlanForm,
    field: str,
    start: Callable[[dict[str, Any]], Payment],
) -> HttpResponse:
    """Start a payment from a checked form and go to it; a refusal draws the bill again with the form's message."""

    def again(status: int) -> HttpResponse:
        if isinstance(form, PayForm):
            return _statement_page(request, account, pay_form=form, status=status)
        return _statement_page(request, account, plan_form=form, status=status)

    if form.is_valid():
        try:
            payment = start(form.cleaned_data)
        except ValidationError as error:
            form.add_error(field, error)
        except GatewayError as error:
            form.add_error(None, error.message)
            return again(502)
        else:
            return _to_checkout(payment)
    return again(400)


@subject_page(Scope.BILLING, objects={"account_id": access_account_by_id})
@require_POST
def pay(request: SignedInRequest, subject: Patient, account: BillingAccount) -> HttpResponse:
    def start(data: dict[str, Any]) -> Payment:
        return start_payment(
            actor=request.actor,
            account=account,
            amount_cents=data["amount"],
            idempotency_key=data["key"],
            urls=_return_urls(request),
            request=request,
        )

    return _start_from_form(request, account, PayForm(request.POST), "amount", start)


@subject_page(Scope.BILLING, objects={"account_id": access_account_by_id})
@require_POST
def plan_start(request: SignedInRequest, subject: Patient, account: BillingAccount) -> HttpResponse:
    def start(data: dict[str, Any]) -> Payment:
        return start_plan(
            actor=request.actor,
            account=account,
            instalment_cents=data["instalment"],
            day_of_month=data["day_of_month"],
            idempotency_key=data["key"],
            urls=_return_urls(request),
            request=request,
        )

    return _start_from_form(request, account, PlanForm(request.POST), "instalment", start)


@subject_page(Scope.BILLING, objects={"account_id": access_account_by_id, "plan_id": access_plan_by_id})
@require_POST
def plan_resume(request: SignedInRequest, subject: Patient, account: BillingAccount, plan: PaymentPlan) -> HttpResponse:
    """A plan on hold: pay the missed instalment with another card, which the next ones then use."""
    try:
        payment = resume_plan(
            actor=request.actor,
            plan=plan,
            idempotency_key=(request.POST.get("key") or "")[:100],
            urls=_return_urls(request),
            request=request,
        )
    except (ValidationError, GatewayError) as error:
        messages.error(request, error.message if isinstance(error, GatewayError) else " ".join(error.messages))
        return redirect("billing:statement", account_id=account.pk)
    return _to_checkout(payment)


@subject_page(Scope.BILLING, objects={"account_id": access_account_by_id, "plan_id": access_plan_by_id})
@require_POST
def plan_stop(request: SignedInRequest, subject: Patient, account: BillingAccount, plan: PaymentPlan) -> HttpResponse:
    try:
        stop_plan(actor=request.actor, plan=plan, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The payment plan is stopped. Nothing more will be charged to its card."))
    return redirect("billing:statement", account_id=account.pk)


@subject_page(Scope.BILLING, objects={"payment_id": access_payment_by_id})
@require_safe
def payment_page(request: SignedInRequest, subject: Patient, payment: Payment) -> HttpResponse:
    """Where the processor sends the person back: how the payment went, asked of the processor itself."""
    cancelled = request.GET.get("cancelled") == "1"
    problem = ""
    if payment.status == PaymentStatus.STARTED and payment.checkout_id:
        try:
            payment = settle_payment(payment)
        except GatewayError as error:
            problem = error.message
    return render(
        request,
        "billing/payment.html",
        {"payment": payment, "account": payment.account, "cancelled": cancelled, "problem": problem},
    )


@subject_page(
    Scope.BILLING, audit=AuditAction.RECEIPT_DOWNLOADED, audit_self=True, objects={"payment_id": access_payment_by_id}
)
@require_safe
def receipt(request: SignedInRequest, subject: Patient, payment: Payment) -> HttpResponse:
    """The receipt of a payment that went through, as a PDF (refunds on it listed)."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Http404
    pdf = receipt_pdf(payment, refunds=selectors.refunds_of(payment))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.receipt_number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
