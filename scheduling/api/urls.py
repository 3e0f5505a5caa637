"""Appointments in the API, under /api/v1/ (portal/urls.py)."""

from django.urls import path

from scheduling.api import patient, staff

DESK = "staff/<slug:org_slug>/"

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
    path(DESK + "appointments/", staff.StaffAppointmentsView.as_view(), name="api-staff-appointments"),
    path(DESK + "appointments/slots/", staff.StaffSlotsView.as_view(), name="api-staff-appointment-slots"),
    path(
        DESK + "appointments/<uuid:appointment_id>/mark/",
        staff.StaffMarkView.as_view(),
        name="api-staff-appointment-mark",
    ),
    path(DESK + "providers/<int:provider_id>/hours/", staff.StaffHoursView.as_view(), name="api-staff-provider-hours"),
    path(
        DESK + "providers/<int:provider_id>/time-away/",
        staff.StaffTimeAwayView.as_view(),
        name="api-staff-provider-time-away",
    ),
]
