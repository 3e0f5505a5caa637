"""The messages API, under /api/v1/ (portal/urls.py)."""

from django.urls import path

from messaging.api import patient

PATIENT = "patients/<uuid:patient_id>/"

# The patient's side: one patient's conversations at patients/<patient_id>/messages/.
urlpatterns = [
    path(f"{PATIENT}messages/", patient.ThreadsView.as_view(), name="api-messages"),
    path(f"{PATIENT}messages/care-teams/", patient.CareTeamsView.as_view(), name="api-messages-care-teams"),
    path(f"{PATIENT}messages/<int:thread_id>/", patient.ThreadView.as_view(), name="api-messages-thread"),
    path(
        f"{PATIENT}messages/<int:thread_id>/files/<int:attachment_id>/",
        patient.AttachmentView.as_view(),
        name="api-messages-attachment",
    ),
]
