"""Bills through the API: the patient's side (/api/v1/patients/<patient_id>/bills/...) and the billing desk's
(/api/v1/staff/<org>/billing/...), with the same access, actions and audit as the pages.

Amounts are integer cents with the account's currency. A payment is started here and finished on the card
processor's page (`checkout_url`): the card never passes through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions.audit import record_audit_events
from accounts.actors import Scope
from accounts.audience import Audience, Kind
from accounts.audit_labels import AuditAction
from billing import selectors
from billing.access import (
    BILLING_ROLES,
    access_account_by_id,
    access_payment_by_id,
    access_staff_account_by_id,
    access_staff_payment_by_id,
)
from billing.actions import issue_statement, post_entry, refund_payment
from billing.gateways import GatewayError
from billing.insurance import insurance_beside
from billing.models import EntryKind, Payment, PaymentStatus, PlanStatus
from billing.payments import ReturnUrls, settle_payment, start_payment, start_plan, stop_plan
from proxy.access import access_subject_by_id
from proxy.api.base import PATIENT_KWARG, PortalAPIView

if TYPE_CHECKING:
    from accounts.models import Patient
    from billing.models import BillingAccount

ENTRY_KIND_CHOICES = list(EntryKind.values)
PAYMENT_STATUS_CHOICES = list(PaymentStatus.values)
PLAN_STATUS_CHOICES = list(PlanStatus.values)
TAGS = ["bills"]
DESK_TAGS = ["billing desk"]
CSRF_NOTE = " Writes from a browser session need the CSRF token (X-CSRFToken header); bearer-token calls do not."
FIELD_ERRORS = OpenApiResponse(
    description="What to fix, by field name (non_field_errors: the request as a whole); nothing changed.",
    response=OpenApiTypes.OBJECT,
)
UNAVAILABLE = OpenApiResponse(
    description="The card processor did not answer or refused; nothing was charged.", response=OpenApiTypes.OBJECT
)


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.CharField(source="organization.name")
    currency = serializers.CharField()
    balance_cents = serializers.IntegerField(source="balance", help_text="The sum of the ledger: above 0, owed.")
    due_on = serializers.DateField(allow_null=True)


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ENTRY_KIND_CHOICES)
    amount_cents = serializers.IntegerField(help_text="Above 0 raises what is owed; below 0 lowers it.")
    visit_number = serializers.CharField()
    service_date = serializers.DateField(allow_null=True)
    description = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class InsurerSerializer(serializers.Serializer):
    insurer = serializers.CharField()
    record_source = serializers.CharField(source="source", help_text="The connected source the statement came from.")
    billed_cents = serializers.IntegerField(allow_null=True)
    paid_cents = serializers.IntegerField(allow_null=True)
    patient_share_cents = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()


class VisitSerializer(serializers.Serializer):
    visit_number = serializers.CharField()
    service_date = serializers.DateField(allow_null=True)
    charged_cents = serializers.IntegerField(source="charged")
    insurance_paid_cents = serializers.IntegerField(source="insurance_paid")
    adjusted_cents = serializers.IntegerField(source="adjusted")
    left_for_patient_cents = serializers.IntegerField(source="left_for_you")
    entries = EntrySerializer(many=True)
    insurer = InsurerSerializer(allow_null=True, required=False)


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PLAN_STATUS_CHOICES)
    instalment_cents = serializers.IntegerField()
    day_of_month = serializers.IntegerField()
    next_charge_on = serializers.DateField(allow_null=True)
    card_last4 = serializers.CharField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=PAYMENT_STATUS_CHOICES)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    receipt_number = serializers.CharField()
    card_last4 = serializers.CharField()
    failure_message = serializers.CharField()
    checkout_url = serializers.SerializerMethodField(
        help_text="While the payment waits for the card: the processor's page to pay on. Else null."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_checkout_url(self, payment: Payment) -> str | None:
        return payment.checkout_url if payment.status == PaymentStatus.STARTED and payment.checkout_url else None


class StatementSerializer(serializers.Serializer):
    account = AccountSerializer()
    visits = VisitSerializer(many=True)
    other_entries = EntrySerializer(many=True, help_text="Payments, refunds and adjustments of no visit.")
    plan = PlanSerializer(allow_null=True)
    payments = PaymentSerializer(many=True)


def _statement(actor: Any, account: BillingAccount) -> dict[str, Any]:
    view = selectors.statement_of(account)
    if actor.subject is not None:  # the desk reads no record: the clinic's own lines only
        insurance_beside(actor, account, view.visits)
    return {
        "account": {
            "id": account.pk,
            "organization": account.organization,
            "currency": account.currency,
            "balance": view.balance,
            "due_on": view.due_on,
        },
        "visits": view.visits,
        "other_entries": view.money_moves,
        "plan": view.plan,
        "payments": selectors.payments_of(account),
    }


class NewPaymentSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField(min_value=1)
    idempotency_key = serializers.CharField(
        max_length=100, help_text="Made by the caller for this payment: sent again, the same payment is returned."
    )
    return_url = serializers.URLField(
        required=False, help_text="Where the processor sends the person after paying (default: the portal's page)."
    )


def _first_error(error: DjangoValidationError) -> list[str]:
    return list(error.messages)


# The patient's side ---------------------------------------------------------------------------------------------


def _urls_for(request: Request, return_url: str | None) -> Callable[[Payment], ReturnUrls]:
    """Where the processor sends the person back: the caller's page, or the payment's page in the portal."""

    def urls(payment: Payment) -> ReturnUrls:
        back = return_url or request.build_absolute_uri(reverse("billing:payment", args=[payment.pk]))
        return ReturnUrls(success=back, cancel=back)

    return urls


class BillsView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT, scope=Scope.BILLING, audit=AuditAction.BILLS_VIEWED, objects={PATIENT_KWARG: access_subject_by_id}
    )

    @extend_schema(
        summary="The person's bills at every organization", tags=TAGS, responses=AccountSerializer(many=True)
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return Response(AccountSerializer(selectors.accounts_of(self.actor), many=True).data)


class StatementView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.BILLING,
        audit=AuditAction.BILLS_VIEWED,
        objects={PATIENT_KWARG: access_subject_by_id, "account_id": access_account_by_id},
    )

    @extend_schema(
        summary="One bill: its visits (charged, paid by insurance, adjusted, left), what the insurer says of each "
        "visit (with the records scope), payments and the plan",
        tags=TAGS,
        responses=StatementSerializer,
    )
    def get(self, request: Request, patient: Patient, account: BillingAccount) -> Response:
        return Response(StatementSerializer(_statement(self.actor, account)).data)


def _started(
    request: Request,
    serializer: type[serializers.Serializer],
    field: str,
    start: Callable[[dict[str, Any], Callable[[Payment], ReturnUrls]], Payment],
) -> Response:
    """A payment started from a checked body: 201 with it, 400 with the action's message, 502 if the processor fails."""
    body = serializer(data=request.data)
    body.is_valid(raise_exception=True)
    data: dict[str, Any] = body.validated_data
    try:
        payment = start(data, _urls_for(request, data.get("return_url")))
    except DjangoValidationError as error:
        raise ValidationError({field: _first_error(error)}) from error
    except GatewayError as error:
        return Response({"detail": error.message}, status=status.HTTP_502_BAD_GATEWAY)
    return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentsView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.BILLING,
        objects={PATIENT_KWARG: access_subject_by_id, "account_id": access_account_by_id},
    )

    @extend_schema(
        summary="Start a card payment; pay it on `checkout_url`",
        description="The same `idempotency_key` returns the same payment (a retry never pays twice). At most the "
        "balance." + CSRF_NOTE,
        tags=TAGS,
        request=NewPaymentSerializer,
        responses={201: PaymentSerializer, 400: FIELD_ERRORS, 502: UNAVAILABLE},
    )
    def post(self, request: Request, patient: Patient, account: BillingAccount) -> Response:
        def start(data: dict[str, Any], urls: Callable[[Payment], ReturnUrls]) -> Payment:
            return start_payment(
                actor=self.actor,
                account=account,
                amount_cents=data["amount_cents"],
                idempotency_key="api-" + data["idempotency_key"],
                urls=urls,
                request=request._request,
            )

        return _started(request, NewPaymentSerializer, "amount_cents", start)


class NewPlanSerializer(serializers.Serializer):
    instalment_cents = serializers.IntegerField(min_value=1)
    day_of_month = serializers.IntegerField(min_value=1, max_value=28)
    idempotency_key = serializers.CharField(max_length=100)
    return_url = serializers.URLField(required=False)


class PlanView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.BILLING,
        objects={PATIENT_KWARG: access_subject_by_id, "account_id": access_account_by_id},
    )

    @extend_schema(
        summary="Start a monthly payment plan; its first instalment is paid on `checkout_url`, which saves the card",
        description="Day 1 to 28, at least $10 a month and at most 24 months. The same `idempotency_key` returns "
        "the same first payment." + CSRF_NOTE,
        tags=TAGS,
        request=NewPlanSerializer,
        responses={201: PaymentSerializer, 400: FIELD_ERRORS, 502: UNAVAILABLE},
    )
    def post(self, request: Request, patient: Patient, account: BillingAccount) -> Response:
        def start(data: dict[str, Any], urls: Callable[[Payment], ReturnUrls]) -> Payment:
            return start_plan(
                actor=self.actor,
                account=account,
                instalment_cents=data["instalment_cents"],
                day_of_month=data["day_of_month"],
                idempotency_key="api-" + data["idempotency_key"],
                urls=urls,
                request=request._request,
            )

        return _started(request, NewPlanSerializer, "instalment_cents", start)

    @extend_schema(
        summary="Stop the bill's payment plan: nothing more is charged to its card",
        description=CSRF_NOTE.strip(),
        tags=TAGS,
        request=None,
        responses={204: None, 400: FIELD_ERRORS},
    )
    def delete(self, request: Request, patient: Patient, account: BillingAccount) -> Response:
        plan = selectors.statement_of(account).plan
        if plan is None:
            raise ValidationError({"non_field_errors": [_("This bill has no payment plan.")]})
        try:
            stop_plan(actor=self.actor, plan=plan, request=request._request)
        except DjangoValidationError as error:
            raise ValidationError({"non_field_errors": _first_error(error)}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentView(PortalAPIView):
    audience = Audience(
        Kind.SUBJECT,
        scope=Scope.BILLING,
        objects={PATIENT_KWARG: access_subject_by_id, "payment_id": access_payment_by_id},
    )

    @extend_schema(
        summary="A payment, as the processor last said (asked again while it waits for the card)",
        tags=TAGS,
        responses={200: PaymentSerializer, 502: UNAVAILABLE},
    )
    def get(self, request: Request, patient: Patient, payment: Payment) -> Response:
        try:
            payment = settle_payment(payment)
        except GatewayError as error:
            return Response({"detail": error.message}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(PaymentSerializer(payment).data)


# The billing desk -----------------------------------------------------------------------------------------------


class DeskAccountSerializer(AccountSerializer):
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField(source="patient.display_name")
    mrn = serializers.CharField(allow_null=True)
    plan_status = serializers.ChoiceField(choices=PLAN_STATUS_CHOICES, allow_null=True)


class NewEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[EntryKind.CHARGE, EntryKind.INSURANCE_PAYMENT, EntryKind.ADJUSTMENT])
    amount_cents = serializers.IntegerField(help_text="Above 0; an adjustment lowers the balance unless `raises`.")
    raises = serializers.BooleanField(default=False, help_text="Adjustments only: raise the balance.")
    visit_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    service_date = serializers.DateField(required=False, allow_null=True, default=None)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=100)


class NewRefundSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)
    idempotency_key = serializers.CharField(max_length=100)


class NewStatementSerializer(serializers.Serializer):
    due_on = serializers.DateField()


class DeskAccountsView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=BILLING_ROLES)

    @extend_schema(
        summary="The desk's accounts with balances, largest first; each listed is in its patient's access history",
        tags=DESK_TAGS,
        responses=DeskAccountSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        staff = self.checked_actor

        def audited(rows: list[Any]) -> list[Any]:
            record_audit_events(
                action=AuditAction.BILLS_VIEWED,
                actor=staff,
                request=request._request,
                rows=[(row.patient, "billing_account", row.pk) for row in rows],
            )
            return rows

        return self.paginated(selectors.desk_accounts(staff), DeskAccountSerializer, shape=audited)


class DeskStatementView(PortalAPIView):
    audience = Audience(
        Kind.STAFF,
        roles=BILLING_ROLES,
        audit=AuditAction.BILLS_VIEWED,
        objects={"account_id": access_staff_account_by_id},
    )

    @extend_schema(summary="One account's statement", tags=DESK_TAGS, responses=StatementSerializer)
    def get(self, request: Request, account: BillingAccount) -> Response:
        return Response(StatementSerializer(_statement(self.checked_actor, account)).data)


class DeskEntriesView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=BILLING_ROLES, objects={"account_id": access_staff_account_by_id})

    @extend_schema(
        summary="Post a charge, an insurance payment or an adjustment",
        description="The same `idempotency_key` posts once. Nothing lowers a balance below zero." + CSRF_NOTE,
        tags=DESK_TAGS,
        request=NewEntrySerializer,
        responses={201: EntrySerializer, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, account: BillingAccount) -> Response:
        body = NewEntrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        try:
            entry = post_entry(
                staff=self.checked_actor,
                account=account,
                kind=data["kind"],
                amount_cents=data["amount_cents"],
                lowers=not data["raises"],
                visit_number=data["visit_number"],
                service_date=data["service_date"],
                description=data["description"],
                reason=data["reason"],
                idempotency_key="api-" + data["idempotency_key"],
                request=request._request,
            )
        except DjangoValidationError as error:
            raise ValidationError({"non_field_errors": _first_error(error)}) from error
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class DeskStatementsView(PortalAPIView):
    audience = Audience(Kind.STAFF, roles=BILLING_ROLES, objects={"account_id": access_staff_account_by_id})

    @extend_schema(
        summary="Send the bill, due on a day (the patient and their billing helpers get an email)",
        description=CSRF_NOTE.strip(),
        tags=DESK_TAGS,
        request=NewStatementSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: FIELD_ERRORS},
    )
    def post(self, request: Request, account: BillingAccount) -> Response:
        body = NewStatementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            statement = issue_statement(
                staff=self.checked_actor,
                account=account,
                due_on=body.validated_data["due_on"],
                request=request._request,
            )
        except DjangoValidationError as error:
            raise ValidationError({"due_on": _first_error(error)}) from error
        return Response(
            {"id": statement.pk, "issued_on": statement.issued_on, "due_on": statement.due_on},
            status=status.HTTP_201_CREATED,
        )


class DeskRefundsView(PortalAPIView):
    audience = Audience(
        Kind.STAFF,
        roles=BILLING_ROLES,
        objects={"account_id": access_staff_account_by_id, "payment_id": access_staff_payment_by_id},
    )

    @extend_schema(
        summary="Refund part or all of a card payment to its card, with the reason the patient reads",
        description="The same `idempotency_key` refunds once." + CSRF_NOTE,
        tags=DESK_TAGS,
        request=NewRefundSerializer,
        responses={201: EntrySerializer, 400: FIELD_ERRORS, 502: UNAVAILABLE},
    )
    def post(self, request: Request, account: BillingAccount, payment: Payment) -> Response:
        body = NewRefundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        try:
            entry = refund_payment(
                staff=self.checked_actor,
                payment=payment,
                amount_cents=data["amount_cents"],
                reason=data["reason"],
                idempotency_key="api-" + data["idempotency_key"],
                request=request._request,
            )
        except DjangoValidationError as error:
            raise ValidationError({"amount_cents": _first_error(error)}) from error
        except GatewayError as error:
            return Response({"detail": error.message}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)
