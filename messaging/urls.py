from django.urls import path

from messaging.views import patient, staff, staff_refills
from messaging.views import refills as refill_views

app_name = "messaging"

# The patient's and caregiver's side: messages (`inbox` lists them), a thread, its files.
urlpatterns: list = [
    path("messages/", patient.inbox, name="inbox"),
    path("messages/new/", patient.compose, name="compose"),
    path("messages/emails/", patient.email_choices, name="email_choices"),
    path("messages/<int:thread_id>/", patient.thread, name="thread"),
    path("messages/<int:thread_id>/files/<int:attachment_id>/", patient.attachment, name="attachment"),
]

# The refills (`refills` lists them), pharmacies and reminders; the staff's refill queue and decisions.
urlpatterns += [
    path("refills/", refill_views.refills_page, name="refills"),
    path("refills/new/<int:medication_id>/", refill_views.refill_new, name="refill_new"),
    path("refills/pharmacies/", refill_views.favorite_pharmacies, name="favorite_pharmacies"),
    path("refills/reminders/", refill_views.refill_reminders, name="refill_reminders"),
    path("staff/<slug:org_slug>/refills/", staff_refills.staff_refills, name="staff_refills"),
    path(
        "staff/<slug:org_slug>/refills/<int:refill_id>/decide/",
        staff_refills.staff_refill_decide,
        name="staff_refill_decide",
    ),
]

# The staff side, at an organization's desk (staff/<org_slug>/...).
STAFF_INBOX = "staff/<slug:org_slug>/inbox/"
STAFF_THREAD = STAFF_INBOX + "<int:thread_id>/"
urlpatterns += [
    path(STAFF_INBOX, staff.inbox, name="staff_inbox"),
    path(STAFF_THREAD, staff.thread_page, name="staff_thread"),
    path(STAFF_THREAD + "files/<int:attachment_id>/", staff.attachment, name="staff_attachment"),
    path(STAFF_THREAD + "reply/", staff.reply, name="staff_reply"),
    path(STAFF_THREAD + "note/", staff.note, name="staff_note"),
    path(STAFF_THREAD + "claim/", staff.claim, name="staff_claim"),
    path(STAFF_THREAD + "assign/", staff.assign, name="staff_assign"),
    path(STAFF_THREAD + "close/", staff.close, name="staff_close"),
    path(STAFF_THREAD + "reopen/", staff.reopen, name="staff_reopen"),
    path(STAFF_INBOX + "quick-replies/", staff.quick_replies, name="quick_replies"),
    path(STAFF_INBOX + "quick-replies/<int:quick_reply_id>/", staff.quick_reply_edit, name="quick_reply_edit"),
    path(
        STAFF_INBOX + "quick-replies/<int:quick_reply_id>/delete/", staff.quick_reply_delete, name="quick_reply_delete"
    ),
]
