"""Reads about proxy access."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Patient
from proxy.models import ProxyGrant


def grants_on_record(patient: Patient) -> list[ProxyGrant]:
    """Every grant on a patient's record, live ones first, newest first within each."""
    return list(
        ProxyGrant.objects.filter(patient=patient)
        .select_related("grantee", "invitation")
        .order_by("-status_changed_at")
    )


def grants_held_by(user_id: int) -> QuerySet[ProxyGrant]:
    return ProxyGrant.objects.filter(grantee_id=user_id).select_related("patient")
