"""The patient's choices about private (sensitive) items: whom to show them, and when to see test results.

Sensitive and confidential items stay hidden from everyone who helps the patient unless their grant
allows them (proxy.policy); here the patient may instead show one helper a single item (all of its
copies, from every source) or a whole kind of item (SensitiveCategory). Never to a parent of a minor:
an adolescent's private items stay hidden from parents whatever anyone chooses.

"Results after discussion": while the patient asks for it, sensitive test results wait, for the patient
and for every helper, until the patient says they have talked them over with a clinician (or simply
chooses to see one). Only the patient, acting for themselves, makes these choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.http import Http404

from accounts.actions.audit import record_audit_event
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.models.audit import Basis
from proxy.actions import NotAllowedError
from proxy.models import GrantStatus, ProxyGrant
from records.models import ResultRelease, SensitiveCategory, SensitiveShare, Sensitivity
from records.sections import RecordItem, duplicate_key, merge_copies
from records.selectors import held_results, visible_to

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest

    from records.models import FhirResource


def own_record(actor: Actor) -> Patient:
    """The record of a patient acting for themselves with the records scope; anyone else gets a 404."""
    if actor.subject is None or not actor.acts_for_self or Scope.RECORDS not in actor.scopes:
        raise Http404
    return actor.subject


def _may_be_shown_private_items(grant: ProxyGrant) -> bool:
    """A live helper with the records scope who does not already see every private item, and no parent of a minor."""
    return (
        grant.status == GrantStatus.ACTIVE
        and Scope.RECORDS in (grant.scopes or [])
        and not grant.allows_sensitive
        and grant.legal_basis != Basis.PARENT_OF_MINOR
    )


def helpers_for_private_items(actor: Actor) -> list[ProxyGrant]:
    """The patient's helpers to whom private items can be shown (one query, oldest grant first)."""
    patient = own_record(actor)
    grants = ProxyGrant.objects.filter(patient=patient, status=GrantStatus.ACTIVE).select_related("grantee")
    return [grant for grant in grants.order_by("created_at", "pk") if _may_be_shown_private_items(grant)]


def _copies_of(rows: Iterable[FhirResource], item: FhirResource) -> list[FhirResource]:
    """The rows that are the same item as `item` (from every source), `item` included."""
    key = duplicate_key(item)
    return [row for row in rows if duplicate_key(row) == key] or [item]


def _check_self(actor: Actor, patient: Patient) -> None:
    if not actor.acts_for_self or actor.subject is None or actor.subject.pk != patient.pk:
        raise NotAllowedError("Only the patient chooses who sees their private items.")


def wait_for_discussion(*, actor: Actor, wait: bool, request: HttpRequest | None = None) -> None:
    """Turns "sensitive results wait until I have talked them over" on or off for the patient's record."""
    patient = own_record(actor)
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.results_after_discussion == wait:
            return
        locked.results_after_discussion = wait
        locked.save(update_fields=["results_after_discussion"])
        patient.results_after_discussion = wait
        record_audit_event(
            action=AuditAction.RECORDS_RESULTS_WAIT_CHANGED,
            actor=actor,
            subject=locked,
            request=request,
            detail={"wait": wait},
        )


def release_result(*, actor: Actor, result: FhirResource, request: HttpRequest | None = None) -> int:
    """The patient chooses to see a waiting result: every copy of it is shown from now on. Returns how many."""
    with transaction.atomic():
        _check_self(actor, result.patient)
        waiting = list(held_results(actor).select_for_update())
        copies = _copies_of(waiting, result)
        for row in copies:
            ResultRelease.objects.get_or_create(resource=row, defaults={"released_by": actor.user})
        record_audit_event(
            action=AuditAction.RECORDS_RESULT_RELEASED,
            actor=actor,
            request=request,
            object_type="resource",
            object_id=result.pk,
        )
    return len(copies)


def show_private_item(
    *, actor: Actor, grant: ProxyGrant, item: FhirResource, request: HttpRequest | None = None
) -> None:
    """Shows one private item (each of its copies) to one helper."""
    with transaction.atomic():
        _check_self(actor, item.patient)
        locked = ProxyGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.patient_id != item.patient_id or not _may_be_shown_private_items(locked):
            raise NotAllowedError("Private items can't be shown to this person.")
        private = visible_to(actor).exclude(sensitivity=Sensitivity.NORMAL)
        for row in _copies_of(private, item):
            SensitiveShare.objects.get_or_create(
                patient_id=item.patient_id, grant=locked, resource=row, defaults={"created_by": actor.user}
            )
        record_audit_event(
            action=AuditAction.RECORDS_SENSITIVE_SHOWN,
            actor=actor,
            request=request,
            object_type="resource",
            object_id=item.pk,
            detail={"grant": str(locked.pk)},
        )


def choose_private_kinds(
    *, actor: Actor, grant: ProxyGrant, categories: Iterable[str], request: HttpRequest | None = None
) -> None:
    """Sets which whole kinds of private item one helper sees (the others stop being shown)."""
    chosen = {category for category in categories if category in SensitiveCategory.values}
    with transaction.atomic():
        patient = own_record(actor)
        locked = ProxyGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.patient_id != patient.pk or not _may_be_shown_private_items(locked):
            raise NotAllowedError("Private items can't be shown to this person.")
        current = set(
            SensitiveShare.objects.filter(grant=locked).exclude(category="").values_list("category", flat=True)
        )
        if current == chosen:
            return
        SensitiveShare.objects.filter(grant=locked, category__in=current - chosen).delete()
        SensitiveShare.objects.bulk_create(
            SensitiveShare(patient=patient, grant=locked, category=category, created_by=actor.user)
            for category in sorted(chosen - current)
        )
        for action, changed in (
            (AuditAction.RECORDS_SENSITIVE_SHOWN, chosen - current),
            (AuditAction.RECORDS_SENSITIVE_HIDDEN, current - chosen),
        ):
            if changed:
                record_audit_event(
                    action=action,
                    actor=actor,
                    request=request,
                    object_type="grant",
                    object_id=locked.pk,
                    detail={"categories": sorted(changed)},
                )


def stop_showing(*, actor: Actor, share: SensitiveShare, request: HttpRequest | None = None) -> None:
    """Stops showing a private item (each of its copies) or a kind of item to a helper."""
    with transaction.atomic():
        patient = own_record(actor)
        if share.patient_id != patient.pk:
            raise NotAllowedError("Only the patient chooses who sees their private items.")
        siblings = SensitiveShare.objects.filter(grant_id=share.grant_id, patient=patient)
        if share.resource is not None:
            shared = [
                sibling.resource for sibling in siblings.filter(resource__isnull=False).select_related("resource")
            ]
            keys = {duplicate_key(share.resource)}
            siblings.filter(
                resource__in=[row for row in shared if row is not None and duplicate_key(row) in keys]
            ).delete()
            object_type, object_id = "resource", str(share.resource_id)
        else:
            siblings.filter(pk=share.pk).delete()
            object_type, object_id = "grant", str(share.grant_id)
        record_audit_event(
            action=AuditAction.RECORDS_SENSITIVE_HIDDEN,
            actor=actor,
            request=request,
            object_type=object_type,
            object_id=object_id,
            detail={"grant": str(share.grant_id)} if share.resource_id else {"categories": [share.category]},
        )


def shares_of(actor: Actor) -> list[SensitiveShare]:
    """Every choice the patient made to show private items, with the helper and the item (one query)."""
    patient = own_record(actor)
    return list(
        SensitiveShare.objects.filter(patient=patient)
        .select_related("grant__grantee", "resource__source")
        .order_by("grant_id", "category", "pk")
    )


WAITING_SHOWN = 200


@dataclass(frozen=True)
class KindChoice:
    value: str
    label: str
    chosen: bool


@dataclass(frozen=True)
class HelperChoices:
    """One helper who can be shown private items: the kinds chosen for them, and the single items shown."""

    grant: ProxyGrant
    kinds: list[KindChoice]
    items: list[SensitiveShare]


@dataclass(frozen=True)
class PrivacyChoices:
    """What the privacy page shows the patient (their own record only): the results-wait choice, the results
    that wait (the newest WAITING_SHOWN rows, copies merged), and each helper's choices."""

    results_wait: bool
    waiting: list[RecordItem]
    helpers: list[HelperChoices]


def privacy_choices(actor: Actor) -> PrivacyChoices:
    """The patient's choices, for the page and the API alike (404 for anyone but the patient for themselves)."""
    patient = own_record(actor)
    shares = shares_of(actor)
    chosen_kinds = {(share.grant_id, share.category) for share in shares if share.category}
    helpers = [
        HelperChoices(
            grant=grant,
            kinds=[
                KindChoice(value=value, label=str(label), chosen=(grant.pk, value) in chosen_kinds)
                for value, label in SensitiveCategory.choices
            ],
            items=[share for share in shares if share.grant_id == grant.pk and share.resource is not None],
        )
        for grant in helpers_for_private_items(actor)
    ]
    waiting = held_results(actor).select_related("source").order_by("-effective_at", "pk")[:WAITING_SHOWN]
    return PrivacyChoices(results_wait=patient.results_after_discussion, waiting=merge_copies(waiting), helpers=helpers)


@dataclass
class PrivateItem:
    """For the patient on a private item's page: who sees it (alone or by its kind), and who else could."""

    shown: list[SensitiveShare]
    others: list[ProxyGrant]


def private_item(actor: Actor, item: FhirResource) -> PrivateItem | None:
    """None unless the patient, acting for themselves, looks at one of their private items."""
    if item.sensitivity == Sensitivity.NORMAL or not actor.acts_for_self or actor.subject is None:
        return None
    covering = Q(resource=item)
    if item.sensitive_category:
        covering |= Q(category=item.sensitive_category)
    shown = list(
        SensitiveShare.objects.filter(covering, patient=actor.subject)
        .select_related("grant__grantee")
        .order_by("grant_id", "pk")
    )
    seeing = {share.grant_id for share in shown}
    return PrivateItem(
        shown=shown, others=[grant for grant in helpers_for_private_items(actor) if grant.pk not in seeing]
    )
