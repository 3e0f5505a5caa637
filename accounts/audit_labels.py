"""Plain-language names for audit actions, as patients read them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "auth.login": _("Signed in"),
    "auth.logout": _("Signed out"),
    "auth.idle_logout": _("Signed out after inactivity"),
    "auth.login_failed": _("Failed sign-in attempt"),
    "auth.mfa_verified": _("Passed two-step verification"),
    "auth.mfa_failed": _("Wrong two-step verification code"),
    "auth.recovery_code_used": _("Used a recovery code"),
    "auth.password_changed": _("Changed the password"),
    "auth.password_reset": _("Reset the password"),
    "auth.password_set": _("Set a password"),
    "auth.email_verified": _("Verified the email address"),
    "mfa.enabled": _("Turned on two-step verification"),
    "mfa.removed": _("Turned off two-step verification"),
    "mfa.recovery_codes_replaced": _("Made new recovery codes"),
    "api_token.created": _("Created an API token"),
    "api_token.revoked": _("Revoked an API token"),
    "record.created": _("Started the record"),
    "record.viewed": _("Viewed the record"),
    "access_history.viewed": _("Viewed the access history"),
    "access_history.downloaded": _("Downloaded the access history"),
    "roster.viewed": _("Care team viewed the patient list"),
    "records.imported": _("Added records from a file"),
    "organization.policy_changed": _("Changed the clinic's policy"),
    "proxy.invited": _("Invited someone to help"),
    "proxy.invitation_accepted": _("Accepted an invitation to help"),
    "proxy.invitation_withdrawn": _("Withdrew an invitation"),
    "proxy.scopes_changed": _("Changed what a helper may do"),
    "proxy.revoked": _("Ended someone's access"),
    "proxy.expired": _("Access ended on its end date"),
    "proxy.ended_at_majority": _("A parent's access ended at 18"),
    "proxy.majority_notice_sent": _("Told a parent that access ends at 18"),
    "proxy.access_requested": _("Asked for access"),
    "proxy.request_approved": _("Access request approved"),
    "proxy.request_denied": _("Access request denied"),
    "proxy.document_viewed": _("Reviewer opened a request document"),
    "proxy.switched_to": _("Started acting for this person"),
    "proxy.access_ended_refused": _("Was refused after access ended"),
    "patient.viewed": _("Care team viewed the patient's details"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def basis_label(basis: str) -> str:
    from accounts.models.audit import Basis

    return str(dict(Basis.choices).get(basis, basis))
