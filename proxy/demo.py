"""Demo proxy access: Maria holds power of attorney for Rosa and is Leo's parent; Alex has invited someone."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.actors import Scope
from accounts.models import Patient, User
from accounts.models.audit import Basis
from proxy.models import GrantStatus, ProxyGrant, ProxyInvitation

PARENT_SCOPES = sorted(Scope.ALL)


@transaction.atomic
def seed_proxy_demo(*, patients: dict[str, Patient], users: dict[str, User]) -> None:
    maria = users["caregiver@demo.test"]
    alex = users["patient@demo.test"]
    platform = users["platform@demo.test"]
    now = timezone.now()
    # Rosa's power of attorney was reviewed with her full record in mind (sensitive items included);
    # Leo is 13, so his confidential items stay hidden from his mother whatever the grant says.
    for patient, basis, relationship, allows_sensitive in (
        (patients["rosa"], Basis.POWER_OF_ATTORNEY, "daughter", True),
        (patients["leo"], Basis.PARENT_OF_MINOR, "mother", False),
    ):
        ProxyGrant.objects.get_or_create(
            grantee=maria,
            patient=patient,
            status=GrantStatus.ACTIVE,
            defaults={
                "legal_basis": basis,
                "relationship": relationship,
                "scopes": PARENT_SCOPES,
                "allows_sensitive": allows_sensitive,
                "starts_at": now - timedelta(days=200),
                "granted_by": platform,
                "reviewed_by": platform,
                "status_reason": "Demo: documents reviewed",
            },
        )
    alex_record = patients["alex"]
    if not ProxyGrant.objects.filter(patient=alex_record, status=GrantStatus.PENDING).exists():
        grant = ProxyGrant.objects.create(
            patient=alex_record,
            legal_basis=Basis.PATIENT_CONSENT,
            relationship="partner",
            scopes=[Scope.SCHEDULING, Scope.BILLING],
            status=GrantStatus.PENDING,
            granted_by=alex,
            status_reason="Invited by email",
        )
        # The demo invitation's link is not usable (no one holds its secret): it shows a waiting invitation.
        ProxyInvitation.objects.create(
            grant=grant,
            email="sam.partner@demo.test",
            nonce="demo-" + grant.pk.hex,
            link_expires_at=now + timedelta(days=7),
        )
