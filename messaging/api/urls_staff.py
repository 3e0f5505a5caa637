"""The staff side's API, under /api/v1/ (portal/urls.py): an organization's desk at staff/<org_slug>/."""

from django.urls import path

from messaging.api import staff

DESK = "staff/<slug:org_slug>/"
THREAD = DESK + "threads/<int:thread_id>/"

urlpatterns = [
    path(DESK + "threads/", staff.StaffThreadsView.as_view(), name="api-staff-threads"),
    path(THREAD, staff.StaffThreadView.as_view(), name="api-staff-thread"),
    path(THREAD + "reply/", staff.StaffReplyView.as_view(), name="api-staff-reply"),
    path(THREAD + "note/", staff.StaffNoteView.as_view(), name="api-staff-note"),
    path(THREAD + "claim/", staff.StaffClaimView.as_view(), name="api-staff-claim"),
    path(THREAD + "assign/", staff.StaffAssignView.as_view(), name="api-staff-assign"),
    path(THREAD + "close/", staff.StaffCloseView.as_view(), name="api-staff-close"),
    path(THREAD + "reopen/", staff.StaffReopenView.as_view(), name="api-staff-reopen"),
]
