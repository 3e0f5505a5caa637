"""Bills in the API, under /api/v1/ (portal/urls.py)."""

from django.urls import path

from billing.api import views

PATIENT = "patients/<uuid:patient_id>/"
DESK = "staff/<slug:org_slug>/billing/"

urlpatterns = [
    path(PATIENT + "bills/", views.BillsView.as_view(), name="api-bills"),
    path(PATIENT + "bills/<int:account_id>/", views.StatementView.as_view(), name="api-bill"),
    path(PATIENT + "bills/<int:account_id>/payments/", views.PaymentsView.as_view(), name="api-bill-payments"),
    path(PATIENT + "bills/<int:account_id>/plan/", views.PlanView.as_view(), name="api-bill-plan"),
    path(PATIENT + "payments/<uuid:payment_id>/", views.PaymentView.as_view(), name="api-payment"),
    path(DESK + "accounts/", views.DeskAccountsView.as_view(), name="api-staff-billing-accounts"),
    path(DESK + "accounts/<int:account_id>/", views.DeskStatementView.as_view(), name="api-staff-billing-account"),
    path(
        DESK + "accounts/<int:account_id>/entries/",
        views.DeskEntriesView.as_view(),
        name="api-staff-billing-entries",
    ),
    path(
        DESK + "accounts/<int:account_id>/statements/",
        views.DeskStatementsView.as_view(),
        name="api-staff-billing-statements",
    ),
    path(
        DESK + "accounts/<int:account_id>/payments/<uuid:payment_id>/refunds/",
        views.DeskRefundsView.as_view(),
        name="api-staff-billing-refunds",
    ),
]
