from django.urls import path

from accounts.views import account, history, mfa, staff

urlpatterns = [
    path("accounts/security/", mfa.security_overview, name="mfa_overview"),
    path("accounts/security/authenticator/", mfa.authenticator_setup, name="mfa_setup"),
    path("accounts/security/recovery-codes/", mfa.recovery_codes_regenerate, name="mfa_recovery_codes"),
    path("accounts/security/remove/", mfa.remove, name="mfa_remove"),
    path("accounts/verify/", mfa.verify, name="mfa_verify"),
    path("accounts/api-tokens/", account.api_tokens, name="api_tokens"),
    path("accounts/api-tokens/<int:token_id>/revoke/", account.api_token_revoke, name="api_token_revoke"),
    path("record/start/", account.own_record_start, name="own_record_start"),
    path("record/access-history/", history.access_history, name="access_history"),
    path("record/access-history.csv", history.access_history_csv, name="access_history_csv"),
    path("staff/<slug:org_slug>/patients/", staff.patient_roster, name="staff_roster"),
    path("staff/<slug:org_slug>/members/", staff.organization_members, name="org_members"),
    path("staff/<slug:org_slug>/policy/", staff.organization_policy, name="org_policy"),
]
