from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from billing.payments import charge_instalment, plans_due, send_bill_reminders, send_plan_notices


@shared_task(name="billing.run_daily_billing")
def run_daily_billing() -> dict[str, int]:
    """Each day: notices before instalments, the instalments due, reminders of bills due soon. Idempotent."""
    today = timezone.localdate()
    notices = send_plan_notices(today)
    charged = 0
    for plan_id in plans_due(today):
        charge_instalment_task.delay(plan_id)
        charged += 1
    return {"notices": notices, "instalments": charged, "reminders": send_bill_reminders(today)}


@shared_task(name="billing.charge_instalment")
def charge_instalment_task(plan_id: int) -> None:
    charge_instalment(plan_id)
