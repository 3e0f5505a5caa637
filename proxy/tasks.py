from __future__ import annotations

from celery import shared_task

from proxy.actions import apply_grant_transitions


@shared_task(name="proxy.apply_grant_transitions")
def apply_grant_transitions_task() -> dict[str, int]:
    """Daily: end expired grants and parents' grants at 18, and warn parents 60 days ahead."""
    result = apply_grant_transitions()
    return {
        "expired": result.expired,
        "ended_at_majority": result.ended_at_majority,
        "notices_sent": result.notices_sent,
    }
