from django.urls import path

from messaging.views import patient

app_name = "messaging"

# The patient's and caregiver's side: messages (`inbox` lists them), a thread, its files.
urlpatterns: list = [
    path("messages/", patient.inbox, name="inbox"),
    path("messages/new/", patient.compose, name="compose"),
    path("messages/emails/", patient.email_choices, name="email_choices"),
    path("messages/<int:thread_id>/", patient.thread, name="thread"),
    path("messages/<int:thread_id>/files/<int:attachment_id>/", patient.attachment, name="attachment"),
]

# The refills (`refills` lists them), pharmacies and reminders.
urlpatterns += []

# The staff side, at an organization's desk (staff/<org_slug>/...).
urlpatterns += []
