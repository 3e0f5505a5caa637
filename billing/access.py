"""Access helpers of the billing pages: the subject's own bills (billing scope), or a desk's own; else 404.

An account, payment or plan is reachable by someone acting for its patient with the billing scope; on the
staff side, by the billing staff and admins of its organization (accounts.scoping, billing.scoping).
"""

from __future__ import annotations

from django.http import Http404

from accounts.access import access_subject, parse_int_id, parse_uuid
from accounts.actors import Actor, Scope
from accounts.models import Enrollment
from accounts.scoping import scoped
from billing.models import BillingAccount, Payment, PaymentPlan

# Who works the billing desk: posting charges and adjustments, importing statements, refunds, plans.
BILLING_ROLES = frozenset({"billing", "org_admin"})


def access_account_by_id(actor: Actor, account_id: object) -> BillingAccount:
    patient = access_subject(actor, Scope.BILLING)
    found = (
        BillingAccount.objects.filter(pk=parse_int_id(account_id), patient=patient)
        .select_related("organization", "patient")
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_payment_by_id(actor: Actor, payment_id: object) -> Payment:
    patient = access_subject(actor, Scope.BILLING)
    found = (
        Payment.objects.filter(pk=parse_uuid(payment_id), account__patient=patient)
        .select_related("account__organization", "account__patient", "plan")
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_plan_by_id(actor: Actor, plan_id: object, *, account: BillingAccount) -> PaymentPlan:
    found = PaymentPlan.objects.filter(pk=parse_int_id(plan_id), account=account).first()
    if found is None:
        raise Http404
    return found


# The staff side: rows of the desk's organization only.


def access_staff_account_by_id(staff: Actor, account_id: object) -> BillingAccount:
    found = (
        scoped(staff, BillingAccount)
        .filter(pk=parse_int_id(account_id))
        .select_related("organization", "patient")
        .first()
    )
    if found is None:
        raise Http404
    return found


def access_staff_enrollment_by_id(staff: Actor, enrollment_id: object) -> Enrollment:
    """A patient enrolled at the desk's organization (to open their account)."""
    found = scoped(staff, Enrollment).filter(pk=parse_int_id(enrollment_id)).select_related("patient").first()
    if found is None:
        raise Http404
    return found


def access_staff_payment_by_id(staff: Actor, payment_id: object, *, account: BillingAccount) -> Payment:
    found = scoped(staff, Payment).filter(pk=parse_uuid(payment_id), account=account).first()
    if found is None:
        raise Http404
    return found


def access_staff_plan_by_id(staff: Actor, plan_id: object, *, account: BillingAccount) -> PaymentPlan:
    found = scoped(staff, PaymentPlan).filter(pk=parse_int_id(plan_id), account=account).first()
    if found is None:
        raise Http404
    return found
