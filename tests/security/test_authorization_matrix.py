"""One table: every URL of the portal, every persona, the status each must get.

The table is checked against the URL resolver, so a new URL without a row
fails the suite. 404 is the answer for anything outside a persona's reach,
the same as for something that does not exist. A caregiver whose grant has
ended (expired, revoked, the child turned 18) is refused (403) on every page
but signing out and the health checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PERSONAS, World, sign_in
from tests.records.runs import alex_upload_run
from tests.url_inventory import named_url_patterns

(ANON, PAT, CARE, STR, HERE, OTHER, OADM, PADM, UNVER, NOMFA,
 CG_FULL, CG_REC, CG_EXP, CG_REV, TEEN, ADULT) = PERSONAS  # fmt: skip

EVERYONE = PERSONAS
ENDED = (CG_EXP, CG_REV, ADULT)  # grants that no longer hold: every page is refused
ACTIVE_PROXIES = (CG_FULL, CG_REC, TEEN)
WITH_OWN_RECORD = (PAT, CARE)
VERIFIED_STAFF = (HERE, OTHER, OADM, PADM)
REFUSED = 403
TO_VERIFY = 302  # a staff member with a device who has not passed it yet is sent to the verification step

ENDED_EXEMPT = {"healthz", "readyz", "favicon", "account_logout"}


def expand(default: int, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """A persona -> status map: `default` for everyone but the listed (status, personas) exceptions."""
    table = dict.fromkeys(EVERYONE, default)
    for status, personas in exceptions:
        for persona in (personas,) if isinstance(personas, str) else personas:
            table[persona] = status
    return table


Kwargs = dict[str, Any] | Callable[[World], dict[str, Any]]

# url name -> (kwargs, method, {persona: status}); ended caregivers are filled in below.
MATRIX: dict[str, tuple[Kwargs, str, dict[str, int]]] = {
    # The shell
    "home": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "family": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "person": ({}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))),
    "staff_home": ({}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, VERIFIED_STAFF))),
    "platform_home": ({}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM))),
    "session_keepalive": ({}, "GET", expand(405, (TO_VERIFY, UNVER))),
    "set_language": ({}, "GET", expand(405)),
    "healthz": ({}, "GET", expand(200)),
    "readyz": ({}, "GET", expand(200)),
    "favicon": ({}, "GET", expand(301)),
    # The person's own account
    "mfa_overview": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "mfa_setup": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER), (302, VERIFIED_STAFF))),
    "mfa_recovery_codes": ({}, "GET", expand(302, (TO_VERIFY, UNVER), (200, VERIFIED_STAFF))),
    "mfa_remove": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "mfa_verify": ({}, "GET", expand(302, (200, UNVER))),
    "api_tokens": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "api_token_revoke": ({"token_id": 1}, "GET", expand(405, (302, ANON), (TO_VERIFY, UNVER))),
    "own_record_start": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER), (302, WITH_OWN_RECORD))),
    # The access history: the patient's own, and their representatives' (manage-proxies scope).
    "access_history": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))
    ),
    "access_history_csv": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))
    ),
    # Records (records scope)
    "records:upload": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))
    ),
    # A file Alex added: his own import's page (any proxy of someone else's gets 404).
    "records:upload_run": (alex_upload_run, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, PAT))),
    "records:directory": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))
    ),
    "records:connect": ({"system_id": 1}, "GET", expand(405, (302, ANON), (TO_VERIFY, UNVER))),
    # Without a sign-in started from here, the callback goes back to the directory (or 404 without records).
    "records:callback": (
        {}, "GET", expand(302, (TO_VERIFY, UNVER))
    ),
    # Rosa's connection: for those acting for Rosa with the records scope.
    "records:connection": (
        lambda w: {"connection_id": w.rosa_connection.pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (CG_FULL, CG_REC))),
    ),
    "records:sync_now": (
        lambda w: {"connection_id": w.rosa_connection.pk}, "GET", expand(405, (302, ANON), (TO_VERIFY, UNVER)),
    ),
    "records:disconnect": (
        lambda w: {"connection_id": w.rosa_connection.pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (CG_FULL, CG_REC))),
    ),
    # Proxy access: the subject's side (manage-proxies scope)
    "proxy:sharing": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))
    ),
    "proxy:invite": (
        {}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))
    ),
    # Rosa's records-only grant: only someone managing Rosa's record may change it.
    "proxy:grant_edit": (
        lambda w: {"grant_id": w.grants[CG_REC].pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (200, CG_FULL)),
    ),
    "proxy:grant_revoke": (
        lambda w: {"grant_id": w.grants[CG_REC].pk}, "GET", expand(405, (302, ANON), (TO_VERIFY, UNVER))
    ),
    "proxy:switch_subject": ({}, "GET", expand(405, (302, ANON), (TO_VERIFY, UNVER))),
    "proxy:invitation": ({"token": "not-a-real-token"}, "GET", expand(200, (TO_VERIFY, UNVER))),
    # Proxy access: the caregiver's side
    "proxy:request_access": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "proxy:my_requests": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    # Proxy access: reviewers (Riverside's admin for Riverside's patients; the platform for the rest)
    "proxy:org_queue": (
        {"org_slug": "riverside"}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM))
    ),
    "proxy:org_review": (
        lambda w: {"org_slug": "riverside", "request_id": w.org_request.pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM)),
    ),
    "proxy:org_document": (
        lambda w: {"org_slug": "riverside", "request_id": w.org_request.pk,
                   "document_id": w.org_request.documents.get().pk},
        "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM)),
    ),
    "proxy:org_grants": (
        {"org_slug": "riverside"}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM))
    ),
    "proxy:org_grant": (
        lambda w: {"org_slug": "riverside", "grant_id": w.grants[CG_FULL].pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM)),
    ),
    "proxy:platform_queue": ({}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM))),
    "proxy:platform_review": (
        lambda w: {"request_id": w.platform_request.pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM)),
    ),
    "proxy:platform_document": (
        lambda w: {"request_id": w.platform_request.pk, "document_id": w.platform_request.documents.get().pk},
        "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM)),
    ),
    "proxy:platform_grants": ({}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM))),
    "proxy:platform_grant": (
        lambda w: {"grant_id": w.grants[TEEN].pk}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, PADM)),
    ),
    # Clinic staff pages of one organization ("riverside" is the patient's; staff_other works elsewhere)
    "staff_roster": (
        {"org_slug": "riverside"}, "GET",
        expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, (HERE, OADM))),
    ),
    "org_policy": (
        {"org_slug": "riverside"}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM))
    ),
    "org_members": (
        {"org_slug": "riverside"}, "GET", expand(404, (302, ANON), (TO_VERIFY, UNVER), (302, NOMFA), (200, OADM))
    ),
    # The API
    "api-me": ({}, "GET", expand(200, (403, ANON), (403, UNVER))),
    "api-subjects": ({}, "GET", expand(200, (403, ANON), (403, UNVER))),
    "api-grants": (
        {}, "GET", expand(404, (403, ANON), (403, UNVER), (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))
    ),
    "api-grant": (
        lambda w: {"grant_id": w.grants[CG_REC].pk}, "GET", expand(404, (403, ANON), (403, UNVER), (200, CG_FULL))
    ),
    "api-grant-revoke": (
        lambda w: {"grant_id": w.grants[CG_REC].pk}, "GET", expand(405, (403, ANON), (403, UNVER))
    ),
    "api-access-requests": ({}, "GET", expand(200, (403, ANON), (403, UNVER))),
    # Reviewing needs two-step verification (403 without it); then only the right desk gets past 404.
    # Without ?organization= the queue is the platform's; Riverside's request is decided at Riverside.
    "api-review-queue": ({}, "GET", expand(403, (404, (HERE, OTHER, OADM)), (200, PADM))),
    "api-review-approve": (
        lambda w: {"request_id": w.org_request.pk}, "POST", expand(403, (404, (HERE, OTHER, PADM)), (400, OADM))
    ),
    "api-review-deny": (
        lambda w: {"request_id": w.org_request.pk}, "POST", expand(403, (404, (HERE, OTHER, PADM)), (400, OADM))
    ),
    "api-schema": ({}, "GET", expand(200, (403, UNVER))),
    "api-docs": ({}, "GET", expand(200, (403, UNVER))),
    # The Django admin: platform staff with a verified second factor only.
    "admin:index": ({}, "GET", expand(302, (200, PADM))),
    "admin:accounts_user_changelist": ({}, "GET", expand(302, (200, PADM))),
    "admin:accounts_auditevent_changelist": ({}, "GET", expand(302, (200, PADM))),
    # allauth's account pages
    "account_login": ({}, "GET", expand(302, (200, ANON))),
    "account_signup": ({}, "GET", expand(302, (200, ANON))),
    "account_logout": ({}, "GET", expand(200, (302, ANON))),
    "account_change_password": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "account_set_password": ({}, "GET", expand(302)),
    "account_inactive": ({}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_email": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
    "account_email_verification_sent": ({}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_confirm_email": ({"key": "not-a-real-key"}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_reset_password": ({}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_reset_password_done": ({}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_reset_password_from_key": (
        {"uidb36": "zz", "key": "not-a-real-key"}, "GET", expand(200, (TO_VERIFY, UNVER))
    ),
    "account_reset_password_from_key_done": ({}, "GET", expand(200, (TO_VERIFY, UNVER))),
    "account_confirm_login_code": ({}, "GET", expand(302, (TO_VERIFY, UNVER))),
    "account_reauthenticate": ({}, "GET", expand(200, (302, ANON), (TO_VERIFY, UNVER))),
}  # fmt: skip

for _name, (_kwargs, _method, _statuses) in MATRIX.items():
    if _name not in ENDED_EXEMPT:
        _statuses.update(dict.fromkeys(ENDED, REFUSED))

# The admin registers dozens of URLs per model; the rows above stand for all
# of them (the admin site checks permission in one place for every view).
COVERED_BY_REPRESENTATIVE_ROWS = ("admin:",)


def test_every_url_has_a_row() -> None:
    names = {name for name in named_url_patterns() if not name.startswith(COVERED_BY_REPRESENTATIVE_ROWS)}
    missing = sorted(names - MATRIX.keys())
    assert not missing, f"URLs without a row in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - names - {n for n in MATRIX if n.startswith(COVERED_BY_REPRESENTATIVE_ROWS)})
    assert not stale, f"Rows for URLs that no longer exist: {stale}"


def test_every_row_names_every_persona() -> None:
    for name, (_kwargs, _method, statuses) in MATRIX.items():
        assert set(statuses) == set(EVERYONE), f"{name}: personas missing {set(EVERYONE) - set(statuses)}"


CASES = [
    pytest.param(name, persona, id=f"{name}-{persona}")
    for name, (_kwargs, _method, statuses) in MATRIX.items()
    for persona in statuses
]


@pytest.mark.parametrize(("url_name", "persona"), CASES)
def test_authorization_matrix(client: Client, world: World, url_name: str, persona: str) -> None:
    kwargs, method, statuses = MATRIX[url_name]
    sign_in(client, world, persona)
    url = reverse(url_name, kwargs=kwargs(world) if callable(kwargs) else kwargs)
    response = client.generic(method, url)
    assert response.status_code == statuses[persona], (
        f"{method} {url} as {persona}: expected {statuses[persona]}, got {response.status_code}"
    )
