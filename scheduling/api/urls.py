"""Appointments in the API, under /api/v1/ (portal/urls.py)."""

from django.urls import path

from scheduling.api import patient

urlpatterns = [
    path("patients/<uuid:patient_id>/appointments/", patient.AppointmentsView.as_view(), name="api-appointments"),
    path(
        "patients/<uuid:patient_id>/appointments/visit-types/",
        patient.VisitTypesView.as_view(),
        name="api-appointment-visit-types",
    ),
    path("patients/<uuid:patient_id>/appointments/slots/", patient.SlotsView.as_view(), name="api-appointment-slots"),
    path(
        "patients/<uuid:patient_id>/appointments/<uuid:appointment_id>/cancel/",
        patient.CancelView.as_view(),
        name="api-appointment-cancel",
    ),
]
