"""The audit vocabulary: every action the log may hold, with the words patients read for it.

`record_audit_event` refuses anything that is not an AuditAction, so a new
feature cannot write a code that the access history would show raw. Add the
feature's actions here (with an English label; `make messages` brings the
Spanish), then use the member, never the string.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Signing in and the account
    LOGIN = "auth.login", _("Signed in")
    LOGOUT = "auth.logout", _("Signed out")
    IDLE_LOGOUT = "auth.idle_logout", _("Signed out after inactivity")
    LOGIN_FAILED = "auth.login_failed", _("Failed sign-in attempt")
    LOGIN_RATE_LIMITED = "auth.login_rate_limited", _("Sign-in refused after too many attempts")
    MFA_VERIFIED = "auth.mfa_verified", _("Passed two-step verification")
    MFA_FAILED = "auth.mfa_failed", _("Wrong two-step verification code")
    RECOVERY_CODE_USED = "auth.recovery_code_used", _("Used a recovery code")
    PASSWORD_CHANGED = "auth.password_changed", _("Changed the password")
    PASSWORD_RESET = "auth.password_reset", _("Reset the password")
    PASSWORD_SET = "auth.password_set", _("Set a password")
    EMAIL_VERIFIED = "auth.email_verified", _("Verified the email address")
    MFA_ENABLED = "mfa.enabled", _("Turned on two-step verification")
    MFA_REMOVED = "mfa.removed", _("Turned off two-step verification")
    RECOVERY_CODES_REPLACED = "mfa.recovery_codes_replaced", _("Made new recovery codes")
    API_TOKEN_CREATED = "api_token.created", _("Created an API token")
    API_TOKEN_REVOKED = "api_token.revoked", _("Revoked an API token")
    TEXT_REMINDERS_CHANGED = "account.text_reminders_changed", _("Changed the mobile number or text reminders")
    # The record and its history
    RECORD_CREATED = "record.created", _("Started the record")
    RECORD_VIEWED = "record.viewed", _("Viewed the record")
    SUMMARY_VIEWED = "record.summary_viewed", _("Saw what needs attention (family page)")
    ACCESS_HISTORY_VIEWED = "access_history.viewed", _("Viewed the access history")
    ACCESS_HISTORY_DOWNLOADED = "access_history.downloaded", _("Downloaded the access history")
    # Clinic staff
    ROSTER_VIEWED = "roster.viewed", _("Care team viewed the patient list")
    PATIENT_VIEWED = "patient.viewed", _("Care team viewed the patient's details")
    ORGANIZATION_POLICY_CHANGED = "organization.policy_changed", _("Changed the clinic's policy")
    # Health records
    RECORDS_IMPORTED = "records.imported", _("Added records from a file")
    RECORDS_CONNECTED = "records.connected", _("Connected a health system")
    RECORDS_REAUTHORIZED = "records.reauthorized", _("Signed in to a health system again")
    RECORDS_REAUTHORIZATION_REFUSED = (
        "records.reauthorization_refused",
        _("Sign-in at a health system refused: it was for someone else"),
    )
    RECORDS_NEEDS_REAUTHORIZATION = "records.needs_reauthorization", _("A health system asked to sign in again")
    RECORDS_SYNC_REQUESTED = "records.sync_requested", _("Asked for the latest records")
    RECORDS_DISCONNECTED = "records.disconnected", _("Disconnected a health system")
    RECORDS_CONNECTION_VIEWED = "records.connection_viewed", _("Viewed a health-system connection")
    RECORDS_CONNECTIONS_LISTED = "records.connections_listed", _("Viewed the connected health systems")
    RECORDS_IMPORT_VIEWED = "records.import_viewed", _("Viewed how a file import went")
    RECORDS_SUMMARY_VIEWED = "records.summary_viewed", _("Viewed the record's summary")
    RECORDS_TIMELINE_VIEWED = "records.timeline_viewed", _("Viewed the record's timeline")
    RECORDS_RESULTS_VIEWED = "records.results_viewed", _("Viewed the test results")
    RECORDS_RESULT_VIEWED = "records.result_viewed", _("Viewed a test result")
    RECORDS_SECTION_VIEWED = "records.section_viewed", _("Viewed a part of the record")
    RECORDS_ITEM_VIEWED = "records.item_viewed", _("Viewed an item of the record")
    RECORDS_PRIVACY_VIEWED = "records.privacy_viewed", _("Viewed the record's privacy choices")
    RECORDS_RESULTS_WAIT_CHANGED = "records.results_wait_changed", _("Changed when private test results are shown")
    RECORDS_RESULT_RELEASED = "records.result_released", _("Chose to see a private test result that was waiting")
    RECORDS_SENSITIVE_SHOWN = "records.sensitive_shown", _("Chose to show private items to someone who helps")
    RECORDS_SENSITIVE_HIDDEN = "records.sensitive_hidden", _("Stopped showing private items to someone who helps")
    RECORDS_ATTACHMENT_DOWNLOADED = "records.attachment_downloaded", _("Downloaded a file from the record")
    RECORDS_DOWNLOADED = "records.downloaded", _("Downloaded the record")
    # Sharing the record with a SMART Health Link
    RECORDS_SHARE_LINKS_VIEWED = "records.share_links_viewed", _("Viewed the links that share the record")
    RECORDS_SHARE_LINK_VIEWED = "records.share_link_viewed", _("Viewed a link that shares the record")
    RECORDS_SHARE_LINK_CREATED = "records.share_link_created", _("Made a link to share the record")
    RECORDS_SHARE_LINK_REVOKED = "records.share_link_revoked", _("Ended a link that shared the record")
    RECORDS_SHARE_LINK_OPENED = "records.share_link_opened", _("Someone opened a shared link to the record")
    RECORDS_SHARE_LINK_WRONG_PASSCODE = (
        "records.share_link_wrong_passcode",
        _("Someone tried a shared link with a wrong passcode"),
    )
    RECORDS_SHARE_LINK_REFUSED = (
        "records.share_link_refused",
        _("Someone tried a shared link that had ended"),
    )
    RECORDS_SHARE_FILE_FETCHED = "records.share_file_fetched", _("The record was downloaded through a shared link")
    # What the person writes down themselves (the journal, home measurements)
    RECORDS_JOURNAL_VIEWED = "records.journal_viewed", _("Viewed the journal")
    RECORDS_JOURNAL_PRINT_VIEWED = "records.journal_print_viewed", _("Opened the journal to print")
    RECORDS_JOURNAL_ENTRY_VIEWED = "records.journal_entry_viewed", _("Opened a journal entry")
    RECORDS_JOURNAL_ENTRY_ADDED = "records.journal_entry_added", _("Wrote in the journal")
    RECORDS_JOURNAL_ENTRY_CHANGED = "records.journal_entry_changed", _("Changed a journal entry")
    RECORDS_JOURNAL_ENTRY_DELETED = "records.journal_entry_deleted", _("Deleted a journal entry")
    RECORDS_JOURNAL_QUESTION_MARKED = (
        "records.journal_question_marked",
        _("Marked a question for the next visit as asked or answered"),
    )
    RECORDS_MEASUREMENTS_VIEWED = "records.measurements_viewed", _("Viewed the home measurements")
    RECORDS_MEASUREMENT_ADDED = "records.measurement_added", _("Added a home measurement")
    RECORDS_MEASUREMENT_DELETED = "records.measurement_deleted", _("Deleted a home measurement")
    # Messages and refills
    MESSAGES_VIEWED = "messages.list_viewed", _("Viewed the messages")
    MESSAGE_THREAD_VIEWED = "messages.thread_viewed", _("Read a message conversation")
    MESSAGE_SENT = "messages.sent", _("Sent a message to the care team")
    MESSAGE_REPLIED = "messages.staff_replied", _("The care team replied to a message")
    MESSAGE_NOTE_ADDED = "messages.note_added", _("The care team added an internal note")
    MESSAGE_ATTACHMENT_VIEWED = "messages.attachment_viewed", _("Opened a file sent with a message")
    MESSAGE_THREAD_ASSIGNED = "messages.thread_assigned", _("The care team took on a message")
    MESSAGE_THREAD_CLOSED = "messages.thread_closed", _("A message conversation was closed")
    MESSAGE_THREAD_REOPENED = "messages.thread_reopened", _("A message conversation was reopened")
    MESSAGE_THREAD_ESCALATED = "messages.thread_escalated", _("A message past its reply date went to the team lead")
    MESSAGE_INBOX_VIEWED = "messages.inbox_viewed", _("The care team's inbox listed a conversation")
    QUICK_REPLY_CHANGED = "messages.quick_reply_changed", _("Changed the care team's reply templates")
    REFILL_REQUESTED = "refills.requested", _("Asked for a prescription refill")
    REFILL_APPROVED = "refills.approved", _("A refill was approved")
    REFILL_DENIED = "refills.denied", _("A refill was denied")
    REFILL_VISIT_NEEDED = "refills.visit_needed", _("A refill needs a visit first")
    REFILLS_VIEWED = "refills.viewed", _("Viewed the refill requests")
    REFILL_REMINDERS_CHANGED = "refills.reminders_changed", _("Changed refill reminders")
    FAVORITE_PHARMACY_CHANGED = "refills.favorite_pharmacy_changed", _("Changed the favourite pharmacies")
    MESSAGING_NOTIFICATIONS_CHANGED = "messages.notifications_changed", _("Changed which emails to receive")
    # Appointments
    APPOINTMENT_BOOKED = "appointments.booked", _("Booked an appointment")
    APPOINTMENT_REQUESTED = "appointments.requested", _("Asked for an appointment")
    APPOINTMENT_MOVED = "appointments.moved", _("Moved an appointment")
    APPOINTMENT_CANCELLED = "appointments.cancelled", _("Cancelled an appointment")
    APPOINTMENTS_VIEWED = "appointments.viewed", _("Viewed the appointments")
    WAITLIST_JOINED = "appointments.waitlist_joined", _("Asked to be offered an earlier visit time")
    APPOINTMENT_CHECKED_IN = "appointments.checked_in", _("Checked in before a visit")
    APPOINTMENT_FORM_FILLED = "appointments.form_filled", _("Filled a form before a visit")
    CALENDAR_FEED_CHANGED = "appointments.calendar_feed_changed", _("Made or ended a private calendar address")
    CALENDAR_FEED_READ = "appointments.calendar_feed_read", _("A calendar program read the appointments")
    APPOINTMENT_STATUS_CHANGED = "appointments.status_changed", _("The clinic marked a visit (arrived, seen, missed)")
    SCHEDULE_VIEWED = "appointments.schedule_viewed", _("The clinic's schedule listed a visit")
    SCHEDULING_SETUP_CHANGED = (
        "appointments.setup_changed",
        _("Changed the clinic's scheduling (rules, hours, time away, kinds of visit)"),
    )
    # Bills and payments
    BILLS_VIEWED = "billing.viewed", _("Viewed the bills")
    RECEIPT_DOWNLOADED = "billing.receipt_downloaded", _("Downloaded a payment receipt")
    PAYMENT_STARTED = "billing.payment_started", _("Started a card payment")
    PAYMENT_MADE = "billing.payment_made", _("A payment went through")
    PAYMENT_FAILED = "billing.payment_failed", _("A payment did not go through")
    PAYMENT_PLAN_CHANGED = "billing.plan_changed", _("Started, changed or stopped a payment plan")
    BILLING_ENTRY_POSTED = (
        "billing.entry_posted",
        _("The clinic posted a charge, an insurance payment or an adjustment"),
    )
    REFUND_ISSUED = "billing.refund_issued", _("The clinic refunded a payment")
    STATEMENT_ISSUED = "billing.statement_issued", _("The clinic sent a bill")
    STATEMENT_FILE_IMPORTED = "billing.statement_file_imported", _("The clinic imported a statement file")
    # Proxy access
    PROXY_INVITED = "proxy.invited", _("Invited someone to help")
    PROXY_INVITATION_ACCEPTED = "proxy.invitation_accepted", _("Accepted an invitation to help")
    PROXY_INVITATION_WITHDRAWN = "proxy.invitation_withdrawn", _("Withdrew an invitation")
    PROXY_SCOPES_CHANGED = "proxy.scopes_changed", _("Changed what a helper may do")
    PROXY_REVOKED = "proxy.revoked", _("Ended someone's access")
    PROXY_EXPIRED = "proxy.expired", _("Access ended on its end date")
    PROXY_ENDED_AT_MAJORITY = "proxy.ended_at_majority", _("A parent's access ended at 18")
    PROXY_MAJORITY_NOTICE_SENT = "proxy.majority_notice_sent", _("Told a parent that access ends at 18")
    PROXY_ACCESS_REQUESTED = "proxy.access_requested", _("Asked for access")
    PROXY_REQUEST_APPROVED = "proxy.request_approved", _("Access request approved")
    PROXY_REQUEST_DENIED = "proxy.request_denied", _("Access request denied")
    PROXY_REQUEST_VIEWED = "proxy.request_viewed", _("Reviewer opened an access request")
    PROXY_DOCUMENT_VIEWED = "proxy.document_viewed", _("Reviewer opened a request document")
    PROXY_GRANTS_VIEWED = "proxy.grants_viewed", _("Viewed who has access")
    PROXY_GRANT_VIEWED = "proxy.grant_viewed", _("Viewed one person's access and its history")
    PROXY_SWITCHED_TO = "proxy.switched_to", _("Started acting for this person")
    PROXY_ACCESS_ENDED_REFUSED = "proxy.access_ended_refused", _("Was refused after access ended")


def action_label(action: str) -> str:
    """The label of a stored action code (old rows included); an unknown code reads as a generic phrase."""
    try:
        return str(AuditAction(action).label)
    except ValueError:
        return str(_("Other activity"))


def basis_label(basis: str) -> str:
    from accounts.models.audit import Basis

    return str(dict(Basis.choices).get(basis, basis))
