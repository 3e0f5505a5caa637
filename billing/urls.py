from django.urls import path

from billing.views import patient, staff, webhooks

app_name = "billing"

ACCOUNT = "bills/<int:account_id>/"
DESK = "staff/<slug:org_slug>/billing/"
DESK_ACCOUNT = DESK + "accounts/<int:account_id>/"

urlpatterns = [
    path("bills/", patient.bills, name="bills"),
    path(ACCOUNT, patient.statement, name="statement"),
    path(ACCOUNT + "pay/", patient.pay, name="pay"),
    path(ACCOUNT + "plan/", patient.plan_start, name="plan_start"),
    path(ACCOUNT + "plan/<int:plan_id>/resume/", patient.plan_resume, name="plan_resume"),
    path(ACCOUNT + "plan/<int:plan_id>/stop/", patient.plan_stop, name="plan_stop"),
    path("bills/payments/<uuid:payment_id>/", patient.payment_page, name="payment"),
    path("bills/payments/<uuid:payment_id>/receipt.pdf", patient.receipt, name="receipt"),
    path("billing/webhooks/payments/", webhooks.payment_events, name="payment_events"),
    path(DESK, staff.desk_home, name="staff_home"),
    path(DESK + "import/", staff.import_file, name="staff_import"),
    path(DESK + "plans/", staff.plans, name="staff_plans"),
    path(DESK + "open/", staff.open_account_view, name="staff_open_account"),
    path(DESK_ACCOUNT, staff.account_page, name="staff_account"),
    path(DESK_ACCOUNT + "entries/", staff.post_entry_view, name="staff_post_entry"),
    path(DESK_ACCOUNT + "statements/", staff.send_statement, name="staff_statement"),
    path(DESK_ACCOUNT + "payments/<uuid:payment_id>/refund/", staff.refund, name="staff_refund"),
]
