"""Refills in the API, under /api/v1/ (portal/urls.py)."""

from django.urls import path

from messaging.api import refills

urlpatterns = [
    path("patients/<uuid:patient_id>/refills/", refills.RefillsView.as_view(), name="api-refills"),
    path("staff/<slug:org_slug>/refills/", refills.StaffRefillsView.as_view(), name="api-staff-refills"),
    path(
        "staff/<slug:org_slug>/refills/<int:refill_id>/decide/",
        refills.StaffRefillDecideView.as_view(),
        name="api-staff-refill-decide",
    ),
]
