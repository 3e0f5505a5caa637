"""Every change to who may act for whom: one transaction, its audit row inside, email after commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models import Enrollment, Patient, User
from accounts.models.audit import Basis
from accounts.notifications import send_notice
from accounts.scoping import scoped
from proxy.documents import CheckedDocument, storage_name
from proxy.models import AccessRequest, AccessRequestDocument, GrantStatus, ProxyGrant, ProxyInvitation
from proxy.policy import ADULT_AGE, MAJORITY_NOTICE_DAYS, age_on, care_today, majority_notice_due

if TYPE_CHECKING:
    from django.http import HttpRequest

INVITATION_LINK_DAYS = 7
_INVITATION_SALT = "proxy.invitation"


class ProxyError(Exception):
    """A change that cannot be made, with a message for the person who asked."""


class NotAllowedError(ProxyError):
    """The person asking may not make this change at all (answered 403, nothing changes)."""


def _nonce_digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _clean_scopes(scopes: list[str] | frozenset[str] | set[str]) -> list[str]:
    chosen = sorted(set(scopes) & Scope.ALL)
    if not chosen:
        raise ProxyError(_("Choose at least one thing the person may do."))
    return chosen


def _audit_grant(
    action: AuditAction,
    *,
    actor: Actor | None,
    user: User | None,
    grant: ProxyGrant,
    request: HttpRequest | None,
    detail: dict[str, object] | None = None,
) -> None:
    record_audit_event(
        action=action,
        actor=actor,
        user=user,
        subject=grant.patient,
        basis=actor.basis if actor is not None else Basis.SYSTEM,
        request=request,
        object_type="proxy_grant",
        object_id=grant.pk,
        detail={"legal_basis": grant.legal_basis, "status": grant.status, **(detail or {})},
    )


def _set_status(grant: ProxyGrant, status: str, *, reason: str, now: datetime) -> None:
    grant.status = status
    grant.status_reason = reason
    grant.status_changed_at = now


# Invitations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentInvitation:
    invitation: ProxyInvitation
    link: str


def _what_the_actor_holds(actor: Actor, patient: Patient) -> tuple[frozenset[str], datetime | None, bool]:
    """What the actor may pass on for `patient`: their scopes, their own end date, and sensitive items.

    A grantee gives only what it holds, never more: no scope it lacks, no day past its own end,
    no sensitive items it does not see itself.
    """
    if actor.subject is None or actor.subject.pk != patient.pk or not actor.may(Scope.MANAGE_PROXIES):
        raise NotAllowedError(_("You may not manage who has access to this record."))
    if actor.acts_for_self:
        return Scope.ALL, None, True
    own = ProxyGrant.objects.filter(pk=actor.grant_id).only("expires_at").first() if actor.grant_id else None
    return actor.scopes, own.expires_at if own is not None else None, not actor.hide_sensitive


def _check_gift(
    actor: Actor,
    patient: Patient,
    *,
    adding: set[str],
    expires_at: datetime | None,
    allows_sensitive: bool,
    setting_expiry: bool = True,
) -> datetime | None:
    """Refuses what the actor does not hold; returns the end date the access may have."""
    held, held_until, sees_sensitive = _what_the_actor_holds(actor, patient)
    if adding - held:
        raise NotAllowedError(_("You can only give access to what you may do yourself."))
    if allows_sensitive and not sees_sensitive:
        raise NotAllowedError(_("You cannot let someone see items that are hidden from you."))
    if setting_expiry and held_until is not None:
        if expires_at is None:
            return held_until
        if expires_at > held_until:
            raise NotAllowedError(_("Access you give cannot last longer than your own."))
    return expires_at


def _basis_for_new_grant(actor: Actor, patient: Patient, now: datetime) -> str:
    """The legal basis an invitation records.

    The patient's own invitation is their consent. A representative's invitation rests on the
    representative's basis, and for a minor it is always a parent's, so that the adolescent
    limits and the end at 18 apply to the new access too.
    """
    if actor.acts_for_self:
        return Basis.PATIENT_CONSENT
    if age_on(patient.birth_date, care_today(now)) < ADULT_AGE:
        return Basis.PARENT_OF_MINOR
    return actor.basis


def invite_caregiver(
    *,
    actor: Actor,
    patient: Patient,
    email: str,
    scopes: list[str],
    expires_at: datetime | None,
    relationship: str = "",
    allows_sensitive: bool = False,
    request: HttpRequest | None = None,
) -> SentInvitation:
    """The patient (or their manager) invites someone by email to help with their care."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ProxyError(_("The end date must be in the future."))
    email = email.strip().lower()
    if actor.user is not None and email == actor.user.email:
        raise ProxyError(_("You cannot invite yourself."))
    chosen = _clean_scopes(scopes)
    expires_at = _check_gift(
        actor, patient, adding=set(chosen), expires_at=expires_at, allows_sensitive=allows_sensitive
    )
    legal_basis = _basis_for_new_grant(actor, patient, now)
    nonce = secrets.token_urlsafe(32)
    with transaction.atomic():
        grant = ProxyGrant.objects.create(
            patient=patient,
            legal_basis=legal_basis,
            relationship=relationship.strip()[:100],
            scopes=chosen,
            allows_sensitive=allows_sensitive and legal_basis != Basis.PARENT_OF_MINOR,
            status=GrantStatus.PENDING,
            expires_at=expires_at,
            granted_by=actor.user,
            status_reason=_("Invited by email"),
        )
        invitation = ProxyInvitation.objects.create(
            grant=grant,
            email=email,
            nonce=_nonce_digest(nonce),
            link_expires_at=now + timedelta(days=INVITATION_LINK_DAYS),
        )
        _audit_grant(AuditAction.PROXY_INVITED, actor=actor, user=None, grant=grant, request=request)
    token = signing.dumps(nonce, salt=_INVITATION_SALT)
    path = reverse("proxy:invitation", args=[token])
    link = request.build_absolute_uri(path) if request is not None else path
    inviter = actor.user.full_name or actor.user.email if actor.user else ""
    send_notice(
        to=email,
        subject=_("You are invited to help with someone's care"),
        body=_(
            "%(inviter)s invited you to help with someone's care on the Family Health Portal.\n\n"
            "To accept, open this link within %(days)s days:\n%(link)s\n\n"
            "If you were not expecting this, you can ignore this email."
        )
        % {"inviter": inviter, "days": INVITATION_LINK_DAYS, "link": link},
    )
    return SentInvitation(invitation=invitation, link=link)


def invitation_from_token(token: str) -> ProxyInvitation | None:
    """The invitation a link stands for, if the link is genuine and not older than its lifetime."""
    try:
        nonce = signing.loads(token, salt=_INVITATION_SALT, max_age=timedelta(days=INVITATION_LINK_DAYS))
    except signing.BadSignature:
        return None
    return (
        ProxyInvitation.objects.select_related("grant__patient", "grant__granted_by")
        .filter(nonce=_nonce_digest(str(nonce)))
        .first()
    )


def accept_invitation(*, user: User, token: str, request: HttpRequest | None = None) -> ProxyGrant:
    """Single use: the first acceptance wins; the link then stops working."""
    found = invitation_from_token(token)
    if found is None:
        raise ProxyError(_("This invitation link is not valid or has expired. Ask for a new one."))
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = ProxyInvitation.objects.select_for_update().select_related("grant__patient").get(pk=found.pk)
            grant = invitation.grant
            if invitation.accepted_at is not None or grant.status != GrantStatus.PENDING:
                raise ProxyError(_("This invitation has already been used or was withdrawn."))
            if invitation.link_expires_at <= now:
                raise ProxyError(_("This invitation link has expired. Ask for a new one."))
            if invitation.email != user.email:
                raise ProxyError(
                    _("This invitation was sent to another email address. Sign in with that address to accept it.")
                )
            if grant.patient.user_id == user.pk:
                raise ProxyError(_("You cannot accept an invitation to your own record."))
            invitation.accepted_at = now
            invitation.save(update_fields=["accepted_at"])
            grant.grantee = user
            grant.starts_at = now
            _set_status(grant, GrantStatus.ACTIVE, reason=_("Invitation accepted"), now=now)
            grant.save(update_fields=["grantee", "starts_at", "status", "status_reason", "status_changed_at"])
            _audit_grant(AuditAction.PROXY_INVITATION_ACCEPTED, actor=None, user=user, grant=grant, request=request)
    except IntegrityError as error:
        raise ProxyError(_("You already have access to this person's record.")) from error
    return grant


def _check_may_change(actor: Actor, grant: ProxyGrant) -> None:
    """The patient, their manager, or the reviewing desk may change a grant; nobody changes their own."""
    if actor.user is not None and grant.grantee_id == actor.user.pk:
        raise NotAllowedError(_("You cannot change your own access."))
    if actor.desk is not None:
        if not scoped(actor, ProxyGrant).filter(pk=grant.pk).exists():
            raise NotAllowedError(_("This access is not reviewed here."))
        return
    if actor.subject is None or actor.subject.pk != grant.patient_id or not actor.may(Scope.MANAGE_PROXIES):
        raise NotAllowedError(_("You may not manage who has access to this record."))


def withdraw_invitation(*, actor: Actor, grant: ProxyGrant, request: HttpRequest | None = None) -> None:
    _check_may_change(actor, grant)
    with transaction.atomic():
        grant = ProxyGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.status != GrantStatus.PENDING:
            raise ProxyError(_("Only a pending invitation can be withdrawn."))
        _set_status(grant, GrantStatus.REVOKED, reason=_("Invitation withdrawn"), now=timezone.now())
        grant.save(update_fields=["status", "status_reason", "status_changed_at"])
        _audit_grant(AuditAction.PROXY_INVITATION_WITHDRAWN, actor=actor, user=None, grant=grant, request=request)


# Changing and ending grants ----------------------------------------------------------------------


def change_grant_scopes(
    *,
    actor: Actor,
    grant: ProxyGrant,
    scopes: list[str],
    expires_at: datetime | None = None,
    keep_expiry: bool = True,
    allows_sensitive: bool | None = None,
    request: HttpRequest | None = None,
) -> ProxyGrant:
    """Changes what a grantee may do: only by someone who holds what they add (see _check_gift)."""
    chosen = _clean_scopes(scopes)
    _check_may_change(actor, grant)
    with transaction.atomic():
        grant = ProxyGrant.objects.select_for_update().select_related("patient").get(pk=grant.pk)
        if grant.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
            raise ProxyError(_("This access has ended and cannot be changed."))
        sensitive = grant.allows_sensitive if allows_sensitive is None else allows_sensitive
        new_expiry = _check_gift(
            actor,
            grant.patient,
            adding=set(chosen) - set(grant.scopes),
            expires_at=grant.expires_at if keep_expiry else expires_at,
            allows_sensitive=sensitive and not grant.allows_sensitive,
            setting_expiry=not keep_expiry,
        )
        before = {
            "scopes": grant.scopes,
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
            "allows_sensitive": grant.allows_sensitive,
        }
        grant.scopes = chosen
        grant.expires_at = new_expiry
        grant.allows_sensitive = sensitive and grant.legal_basis != Basis.PARENT_OF_MINOR
        grant.save(update_fields=["scopes", "expires_at", "allows_sensitive"])
        _audit_grant(
            AuditAction.PROXY_SCOPES_CHANGED,
            actor=actor,
            user=None,
            grant=grant,
            request=request,
            detail={"before": before, "scopes": chosen, "allows_sensitive": grant.allows_sensitive},
        )
    return grant


def revoke_grant(
    *, actor: Actor, grant: ProxyGrant, reason: str = "", request: HttpRequest | None = None
) -> ProxyGrant:
    """Ends a grant at once; the caregiver's next request is refused."""
    _check_may_change(actor, grant)
    with transaction.atomic():
        grant = ProxyGrant.objects.select_for_update().select_related("patient").get(pk=grant.pk)
        if grant.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
            raise ProxyError(_("This access has already ended."))
        _set_status(grant, GrantStatus.REVOKED, reason=reason.strip() or _("Revoked"), now=timezone.now())
        grant.save(update_fields=["status", "status_reason", "status_changed_at"])
        _audit_grant(
            AuditAction.PROXY_REVOKED,
            actor=actor,
            user=None,
            grant=grant,
            request=request,
            detail={"reason": grant.status_reason[:200]},
        )
    return grant


# Access requests ---------------------------------------------------------------------------------


def submit_access_request(
    *, user: User, documents: list[CheckedDocument], request: HttpRequest | None = None, **fields: Any
) -> AccessRequest:
    """Stores the request and its checked documents; an admin reviews it."""
    fields["requested_scopes"] = _clean_scopes(fields.get("requested_scopes") or [])
    with transaction.atomic():
        access_request = AccessRequest.objects.create(requester=user, **fields)
        for checked in documents:
            document = AccessRequestDocument(
                request=access_request,
                original_name=(checked.upload.name or "document")[:200],
                content_type=checked.content_type,
                size=checked.upload.size or 0,
            )
            document.file.save(storage_name(checked), checked.upload, save=False)
            document.save()
        record_audit_event(
            action=AuditAction.PROXY_ACCESS_REQUESTED,
            user=user,
            subject=access_request.patient,
            basis=Basis.SELF,
            request=request,
            object_type="access_request",
            object_id=access_request.pk,
            detail={"legal_basis": access_request.legal_basis, "documents": len(documents)},
        )
    return access_request


NEW_PATIENT = "new"


def _lock_for_decision(actor: Actor, access_request: AccessRequest) -> AccessRequest:
    """The request, locked, if the actor's desk reviews it and the actor did not make it."""
    if actor.desk is None:
        raise NotAllowedError(_("Requests are decided at a review desk."))
    locked = scoped(actor, AccessRequest).select_for_update().filter(pk=access_request.pk).first()
    if locked is None:
        raise NotAllowedError(_("This request is not reviewed here."))
    if actor.user is not None and locked.requester_id == actor.user.pk:
        raise NotAllowedError(_("You cannot decide a request you made yourself. Another reviewer must decide it."))
    if locked.status != GrantStatus.PENDING:
        raise ProxyError(_("This request has already been decided."))
    return locked


def approve_access_request(
    *,
    actor: Actor,
    access_request: AccessRequest,
    patient: Patient | None,
    scopes: list[str],
    expires_at: datetime | None,
    mrn: str = "",
    reason: str = "",
    allows_sensitive: bool = False,
    request: HttpRequest | None = None,
) -> ProxyGrant:
    """Approves with scopes and expiry onto a record the desk cares for, or a new record (patient None).

    `actor` is a reviewer at a desk (accounts.audience.staff_page); the patient is one the desk's
    scope holds (accounts.scoping), checked again here inside the transaction.
    """
    chosen = _clean_scopes(scopes)
    now = timezone.now()
    try:
        with transaction.atomic():
            locked = _lock_for_decision(actor, access_request)
            desk_organization = actor.desk.organization if actor.desk is not None else None
            if patient is None:
                if desk_organization is not None and not mrn.strip():
                    raise ProxyError(_("Give this person's MRN at your clinic to create their record."))
                patient = Patient.objects.create(
                    given_name=locked.patient_given_name,
                    family_name=locked.patient_family_name,
                    birth_date=locked.patient_birth_date,
                )
                if desk_organization is not None:
                    Enrollment.objects.create(patient=patient, organization=desk_organization, mrn=mrn.strip())
                record_audit_event(
                    action=AuditAction.RECORD_CREATED,
                    actor=actor,
                    subject=patient,
                    basis=actor.basis,
                    request=request,
                    object_type="patient",
                    object_id=patient.pk,
                    detail={"from_access_request": locked.pk},
                )
            elif not scoped(actor, Patient).filter(pk=patient.pk).exists():
                raise NotAllowedError(_("That record is not cared for here."))
            if locked.patient_id is not None and locked.patient_id != patient.pk:
                raise ProxyError(_("This request is for another record."))
            if patient.user_id == locked.requester_id:
                raise ProxyError(_("The requester cannot be given access to their own record."))
            grant = ProxyGrant.objects.create(
                grantee=locked.requester,
                patient=patient,
                legal_basis=locked.legal_basis,
                relationship=locked.relationship,
                scopes=chosen,
                allows_sensitive=allows_sensitive and locked.legal_basis != Basis.PARENT_OF_MINOR,
                status=GrantStatus.ACTIVE,
                starts_at=now,
                expires_at=expires_at,
                granted_by=actor.user,
                reviewed_by=actor.user,
                status_reason=reason.strip() or _("Request approved"),
                status_changed_at=now,
            )
            locked.patient = patient
            locked.grant = grant
            locked.status = GrantStatus.ACTIVE
            locked.reviewed_by = actor.user
            locked.decision_reason = reason.strip()
            locked.decided_at = now
            locked.save(update_fields=["patient", "grant", "status", "reviewed_by", "decision_reason", "decided_at"])
            _audit_grant(
                AuditAction.PROXY_REQUEST_APPROVED,
                actor=actor,
                user=None,
                grant=grant,
                request=request,
                detail={"access_request": locked.pk},
            )
    except IntegrityError as error:
        raise ProxyError(_("The requester already has access to this record.")) from error
    return grant


def deny_access_request(
    *, actor: Actor, access_request: AccessRequest, reason: str, request: HttpRequest | None = None
) -> AccessRequest:
    if not reason.strip():
        raise ProxyError(_("Please give a reason; the requester will see it."))
    with transaction.atomic():
        locked = _lock_for_decision(actor, access_request)
        locked.status = GrantStatus.DENIED
        locked.reviewed_by = actor.user
        locked.decision_reason = reason.strip()
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "reviewed_by", "decision_reason", "decided_at"])
        record_audit_event(
            action=AuditAction.PROXY_REQUEST_DENIED,
            actor=actor,
            subject=locked.patient,
            basis=actor.basis,
            request=request,
            object_type="access_request",
            object_id=locked.pk,
            detail={"legal_basis": locked.legal_basis},
        )
    return locked


# The daily transitions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transitions:
    expired: int
    ended_at_majority: int
    notices_sent: int


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def apply_grant_transitions(*, now: datetime | None = None) -> Transitions:
    """Ends grants past their end date and parents' grants at the 18th birthday; warns 60 days before.

    Idempotent: each grant changes once and each notice is sent once, whatever
    the number of runs. Access checks do not wait for this: they apply the
    same rules at every request.
    """
    now = now or timezone.now()
    today = care_today(now)
    expired = ended = notices = 0

    for grant in ProxyGrant.objects.filter(status=GrantStatus.ACTIVE, expires_at__lte=now).select_related("patient"):
        expired += _expire(grant, reason=_("Reached its end date"), action=AuditAction.PROXY_EXPIRED, now=now)

    adult_cutoff = _years_before(today, ADULT_AGE)  # born on or before this day: 18 or older today
    parents = ProxyGrant.objects.filter(status=GrantStatus.ACTIVE, legal_basis=Basis.PARENT_OF_MINOR)
    for grant in parents.filter(patient__birth_date__lte=adult_cutoff).select_related("patient"):
        ended += _expire(grant, reason=_("The patient turned 18"), action=AuditAction.PROXY_ENDED_AT_MAJORITY, now=now)

    window_start = _years_before(today + timedelta(days=MAJORITY_NOTICE_DAYS), ADULT_AGE) - timedelta(days=1)
    candidates = parents.filter(
        majority_notice_sent_at__isnull=True,
        patient__birth_date__gt=adult_cutoff,
        patient__birth_date__gte=window_start,
    ).select_related("patient", "grantee")
    for grant in candidates:
        if not majority_notice_due(grant.patient.birth_date, today) or grant.grantee is None:
            continue
        with transaction.atomic():
            if not ProxyGrant.objects.filter(pk=grant.pk, majority_notice_sent_at__isnull=True).update(
                majority_notice_sent_at=now
            ):
                continue
            _audit_grant(AuditAction.PROXY_MAJORITY_NOTICE_SENT, actor=None, user=None, grant=grant, request=None)
            send_notice(
                to=grant.grantee.email,
                subject=_("Access to a record you manage changes soon"),
                body=_(
                    "Access to the record of someone you care for will change soon.\n\n"
                    "Sign in to the Family Health Portal to see what changes and how to ask for continued access."
                ),
            )
            notices += 1
    return Transitions(expired=expired, ended_at_majority=ended, notices_sent=notices)


def _expire(grant: ProxyGrant, *, reason: str, action: AuditAction, now: datetime) -> int:
    """Ends one active grant (1), or nothing if another run got there first (0)."""
    with transaction.atomic():
        if not ProxyGrant.objects.filter(pk=grant.pk, status=GrantStatus.ACTIVE).update(
            status=GrantStatus.EXPIRED, status_reason=reason, status_changed_at=now
        ):
            return 0
        grant.status = GrantStatus.EXPIRED
        _audit_grant(action, actor=None, user=None, grant=grant, request=None)
    return 1
