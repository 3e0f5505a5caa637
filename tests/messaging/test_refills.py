"""Refills: which medicines can be refilled and where, asking, the staff's decision, and who sees what."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.actors import Actor, Scope, actor_for
from accounts.models import AuditEvent, Role
from accounts.scoping import Desk
from messaging import refill_actions
from messaging.access import refills_visible_to
from messaging.actions import MessagingError
from messaging.attention_refills import refills_needing_attention
from messaging.models import (
    FavoritePharmacy,
    MessageKind,
    Notice,
    NoticeKind,
    NotificationChoice,
    Pharmacy,
    Pool,
    RefillRequest,
    RefillStatus,
    Thread,
    ThreadStatus,
    Topic,
)
from messaging.refills import Medicine, medicines
from proxy.access import resolve_actor, subjects_for
from proxy.actions import NotAllowedError
from tests.conftest import World, sign_in
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.refill_data import (
    ATORVASTATIN,
    LISINOPRIL,
    METFORMIN,
    clinic_source,
    order,
    store,
    upload_source,
)


def rosa_actor(world: World, persona: str = "caregiver_full") -> Actor:
    return resolve_actor(world.user(persona), subject_id=str(world.people["rosa"].pk))


def staff_actor(world: World, persona: str = "staff_here") -> Actor:
    return actor_for(world.user(persona)).at_desk(Desk(world.org_here))


@pytest.fixture
def rosa_meds(world: World) -> dict[str, object]:
    """Rosa's medicines: lisinopril from Riverside (refillable), atorvastatin from the outside hospital, an
    uploaded one, and metformin from Riverside (already waiting: world.refill)."""
    rosa = world.people["rosa"]
    riverside = clinic_source(rosa, world.org_here)
    lisinopril, metformin = store(riverside, order("rx-lis"), order("rx-met", METFORMIN))
    (atorvastatin,) = store(world.rosa_connection.source, order("rx-ator", ATORVASTATIN))
    (uploaded,) = store(upload_source(rosa), order("rx-up", ("", "Vitamin D 1000 IU")))
    return {"lisinopril": lisinopril, "metformin": metformin, "atorvastatin": atorvastatin, "uploaded": uploaded}


# Which medicines, and where ----------------------------------------------------------------------------------


def test_orders_from_the_organizations_own_system_are_refillable_others_say_where_to_ask(
    world: World, rosa_meds: dict
) -> None:
    listed = {m.name: m for m in medicines(rosa_actor(world))}
    lisinopril = listed[LISINOPRIL[1]]
    assert lisinopril.refillable
    assert lisinopril.organization == world.org_here
    assert lisinopril.key == "rxnorm:314076"
    assert lisinopril.ask_instead == ""
    atorvastatin = listed[ATORVASTATIN[1]]
    assert not atorvastatin.refillable
    assert atorvastatin.ask_instead == "Ask Outside Hospital, which prescribed it."
    uploaded = listed["Vitamin D 1000 IU"]
    assert not uploaded.refillable
    assert uploaded.key == "name:vitamin d 1000 iu"
    assert uploaded.ask_instead == "Ask the prescriber or your pharmacy."
    assert listed[METFORMIN[1]].waiting == world.refill  # the request in the fixture, by its key
    # Refillable first.
    assert [m.refillable for m in listed.values()] == sorted((m.refillable for m in listed.values()), reverse=True)


def test_a_stopped_order_is_not_listed_and_a_system_of_an_organization_without_enrollment_is_read_only(
    world: World, rosa_meds: dict
) -> None:
    rosa = world.people["rosa"]
    store(clinic_source(rosa, world.org_here), order("rx-old", ("1000", "Old medicine"), status="stopped"))
    store(clinic_source(rosa, world.org_other), order("rx-lake", ("2000", "Lakeside medicine")))
    listed = {m.name: m for m in medicines(rosa_actor(world))}
    assert "Old medicine" not in listed
    assert not listed["Lakeside medicine"].refillable  # Rosa is not a patient at Lakeside


def test_with_the_refills_scope_alone_only_refillable_medicines_are_listed(world: World, rosa_meds: dict) -> None:
    actor = replace(rosa_actor(world), scopes=frozenset({Scope.REFILLS}))
    assert {m.name for m in medicines(actor)} == {LISINOPRIL[1], METFORMIN[1]}
    assert medicines(replace(actor, scopes=frozenset({Scope.RECORDS}))) == []


def test_sensitive_orders_stay_hidden_from_a_parent_of_an_adolescent(world: World) -> None:
    teen = world.people["teen"]
    store(
        clinic_source(teen, world.org_other),
        order("rx-asthma", ("745679", "Albuterol inhaler")),
        order("rx-private", ("1000126", "Private medicine"), security="PSY"),
    )
    parent = resolve_actor(world.user("parent_of_teen"), subject_id=str(teen.pk))
    assert parent.hide_sensitive
    assert {m.name for m in medicines(parent)} == {"Albuterol inhaler"}
    response = sign_in(Client(), world, "parent_of_teen").get(reverse("messaging:refills"))
    assert b"Albuterol inhaler" in response.content
    assert b"Private medicine" not in response.content


def test_the_records_medication_list_links_to_a_refill(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_full")
    page = client.get(reverse("records:section", kwargs={"section": "medications"}))
    assert reverse("messaging:refill_new", args=[rosa_meds["lisinopril"].pk]).encode() in page.content


# Asking ------------------------------------------------------------------------------------------------------


def test_a_caregiver_asks_for_a_refill(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_full")
    page = client.get(reverse("messaging:refills"))
    assert page.status_code == 200
    url = reverse("messaging:refill_new", args=[rosa_meds["lisinopril"].pk])
    assert url.encode() in page.content
    assert "Ask Outside Hospital, which prescribed it." in page.content.decode()
    form = client.get(url)
    assert form.status_code == 200
    assert b"Main Street Pharmacy" in form.content
    response = client.post(url, {"pharmacy": world.pharmacy.pk, "keep_favorite": "on", "note": "Two left"})
    assert response.status_code == 302
    refill = RefillRequest.objects.get(medication_key="rxnorm:314076")
    assert refill.status == RefillStatus.SENT
    assert refill.pharmacy == world.pharmacy
    assert refill.requested_by == world.user("caregiver_full")
    assert refill.medication == rosa_meds["lisinopril"]
    thread = refill.thread
    assert thread.topic == Topic.REFILL
    assert thread.pool == world.pools["here"]
    assert not thread.private
    assert thread.reply_due_at is not None
    assert thread.status == ThreadStatus.WAITING_ON_STAFF
    first = thread.messages.get()
    assert first.on_behalf_of_name == world.people["rosa"].display_name
    assert "Two left" in first.body
    assert FavoritePharmacy.objects.filter(patient=world.people["rosa"], pharmacy=world.pharmacy).exists()
    assert AuditEvent.objects.filter(action="refills.requested", object_id=str(refill.pk)).count() == 1
    # Asking again while it waits: a clear answer, nothing new.
    again = client.post(url, {"pharmacy": world.pharmacy.pk})
    assert again.status_code == 409
    assert "waiting for an answer" in again.content.decode()
    assert RefillRequest.objects.filter(medication_key="rxnorm:314076").count() == 1


def test_a_second_request_racing_the_first_is_told_not_a_500(world: World, rosa_meds: dict) -> None:
    actor = rosa_actor(world)
    RefillRequest.objects.filter(pk=world.refill.pk).update(medication_key="rxnorm:other")  # out of the way
    refill_actions.request_refill(actor=actor, medication=rosa_meds["metformin"], pharmacy=world.pharmacy)
    # The second one saw no waiting request when it looked (the other was not there yet): the constraint answers.
    from messaging import refills as refills_module

    real = refills_module.medicines

    def as_if_nothing_waited(who: Actor) -> list[Medicine]:
        found = real(who)
        for medicine in found:
            medicine.waiting = None
        return found

    refills_module.medicines = as_if_nothing_waited
    try:
        with pytest.raises(MessagingError, match="waiting for an answer"):
            refill_actions.request_refill(actor=actor, medication=rosa_meds["metformin"], pharmacy=world.pharmacy)
    finally:
        refills_module.medicines = real
    assert RefillRequest.objects.filter(medication_key="rxnorm:861007", status=RefillStatus.SENT).count() == 1


def test_a_read_only_medicine_cannot_be_asked_for(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_full")
    url = reverse("messaging:refill_new", args=[rosa_meds["atorvastatin"].pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Ask Outside Hospital" in page.content
    assert b'<form method="post" class' not in page.content
    with pytest.raises(MessagingError):
        refill_actions.request_refill(
            actor=rosa_actor(world), medication=rosa_meds["atorvastatin"], pharmacy=world.pharmacy
        )
    assert client.post(url, {"pharmacy": world.pharmacy.pk}).status_code == 400
    assert not RefillRequest.objects.exclude(pk=world.refill.pk).exists()


def test_a_pharmacy_of_another_organization_is_refused(world: World, rosa_meds: dict) -> None:
    elsewhere = Pharmacy.objects.create(organization=world.org_other, name="Lake Pharmacy")
    with pytest.raises(MessagingError):
        refill_actions.request_refill(actor=rosa_actor(world), medication=rosa_meds["lisinopril"], pharmacy=elsewhere)


def test_requests_go_to_the_refill_pool_else_the_first_active_one(world: World, rosa_meds: dict) -> None:
    assert refill_actions.refill_pool(world.org_here.pk) == world.pools["here"]
    Pool.objects.filter(pk=world.pools["here"].pk).update(handles_refills=False)
    general = Pool.objects.create(organization=world.org_here, name="General", handles_refills=False)
    assert refill_actions.refill_pool(world.org_here.pk) == world.pools["here"]  # the first active
    Pool.objects.filter(pk=general.pk).update(handles_refills=True)
    assert refill_actions.refill_pool(world.org_here.pk) == general


def test_favourites_come_first_and_can_be_removed(client: Client, world: World) -> None:
    from messaging.refills import pharmacies_for

    rosa = world.people["rosa"]
    other = Pharmacy.objects.create(organization=world.org_here, name="Zed Pharmacy")
    assert [p.name for p in pharmacies_for(rosa.pk, world.org_here)] == ["Main Street Pharmacy", "Zed Pharmacy"]
    sign_in(client, world, "caregiver_full")
    assert client.post(reverse("messaging:favorite_pharmacies"), {"pharmacy": other.pk}).status_code == 302
    assert [p.name for p in pharmacies_for(rosa.pk, world.org_here)] == ["Zed Pharmacy", "Main Street Pharmacy"]
    client.post(reverse("messaging:favorite_pharmacies"), {"pharmacy": other.pk, "favorite": "off"})
    assert AuditEvent.objects.filter(action="refills.favorite_pharmacy_changed").count() == 2
    assert not FavoritePharmacy.objects.filter(patient=rosa).exists()
    # Another organization's pharmacy where Rosa is not a patient: 404.
    lake = Pharmacy.objects.create(organization=world.org_other, name="Lake Pharmacy")
    assert client.post(reverse("messaging:favorite_pharmacies"), {"pharmacy": lake.pk}).status_code == 404


def test_reminders_are_turned_off_and_on_per_medicine(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_full")
    url = reverse("messaging:refill_reminders")
    assert client.post(url, {"medication": rosa_meds["lisinopril"].pk, "reminders": "off"}).status_code == 302
    listed = {m.key: m for m in medicines(rosa_actor(world))}
    assert not listed["rxnorm:314076"].reminders_on
    assert listed["rxnorm:617312"].reminders_on
    client.post(url, {"medication": rosa_meds["lisinopril"].pk, "reminders": "on"})
    assert {m.key: m for m in medicines(rosa_actor(world))}["rxnorm:314076"].reminders_on


# Who sees requests --------------------------------------------------------------------------------------------


def test_a_caregiver_without_the_refills_scope_gets_404(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_records")
    assert client.get(reverse("messaging:refills")).status_code == 404
    assert client.get(reverse("messaging:refill_new", args=[rosa_meds["lisinopril"].pk])).status_code == 404


def test_a_parent_never_sees_an_adolescents_private_refill(client: Client, world: World) -> None:
    teen = world.people["teen"]
    lake_pharmacy = Pharmacy.objects.create(organization=world.org_other, name="Lake Pharmacy")
    thread = Thread.objects.create(
        organization=world.org_other,
        pool=world.pools["other"],
        patient=teen,
        topic=Topic.REFILL,
        subject="Refill: private",
        private=True,
    )
    private = RefillRequest.objects.create(
        thread=thread,
        patient=teen,
        organization=world.org_other,
        medication_name="Private medicine",
        medication_key="rxnorm:1000126",
        pharmacy=lake_pharmacy,
    )
    parent = resolve_actor(world.user("parent_of_teen"), subject_id=str(teen.pk))
    assert not refills_visible_to(parent).exists()
    assert not refills_visible_to(parent).filter(pk=private.pk).exists()
    sign_in(client, world, "parent_of_teen")
    page = client.get(reverse("messaging:refills"))
    assert page.status_code == 200
    assert b"Private medicine" not in page.content
    api = client.get(reverse("api-refills", kwargs={"patient_id": teen.pk}))
    assert api.status_code == 200
    assert api.json()["requests"] == []
    # Nor on the family view.
    actor = actor_for(world.user("parent_of_teen"))
    assert teen.pk not in refills_needing_attention(actor, subjects_for(actor))


def test_a_teen_asking_for_a_sensitive_medicine_asks_privately(world: World) -> None:
    teen = world.people["teen"]
    teen_user = UserFactory(email="theo@example.test")
    teen.user = teen_user
    teen.save()
    Pharmacy.objects.create(organization=world.org_other, name="Lake Pharmacy")
    Pool.objects.filter(pk=world.pools["other"].pk).update(handles_refills=True)
    (private,) = store(
        clinic_source(teen, world.org_other), order("rx-private", ("1000126", "Private medicine"), security="PSY")
    )
    actor = actor_for(teen_user)
    pharmacy = Pharmacy.objects.get(name="Lake Pharmacy")
    done = refill_actions.request_refill(actor=actor, medication=private, pharmacy=pharmacy)
    assert done.thread.private
    parent = resolve_actor(world.user("parent_of_teen"), subject_id=str(teen.pk))
    assert not refills_visible_to(parent).exists()
    with pytest.raises(NotAllowedError):
        refill_actions.request_refill(actor=parent, medication=private, pharmacy=pharmacy, private=True)


# The staff's decision -------------------------------------------------------------------------------------------


def test_approval_is_shown_to_the_caregiver_and_the_patient_side_is_told(client: Client, world: World) -> None:
    NotificationChoice.objects.create(
        user=world.user("caregiver_full"), patient=world.people["rosa"], refill_reminders=True
    )
    sign_in(client, world, "staff_here")
    url = reverse("messaging:staff_refill_decide", kwargs={"org_slug": "riverside", "refill_id": world.refill.pk})
    response = client.post(url, {"decision": "approve", "quantity": "30", "refills": "2"})
    assert response.status_code == 302
    world.refill.refresh_from_db()
    assert (world.refill.status, world.refill.quantity, world.refill.refills) == (RefillStatus.APPROVED, 30, 2)
    assert world.refill.decided_by == world.user("staff_here")
    thread = world.refill.thread
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED
    assert thread.reply_due_at is None
    event = thread.messages.get(kind=MessageKind.EVENT)
    assert event.body == "Refill approved: 30, 2 refills."
    assert AuditEvent.objects.filter(action="refills.approved", object_id=str(world.refill.pk)).count() == 1
    notices = Notice.objects.filter(kind=NoticeKind.REFILL_UPDATE)
    assert [n.recipient for n in notices] == [world.user("caregiver_full")]  # Rosa has no login
    # The caregiver sees it in plain words, and the family view says there is an answer until it is seen.
    caregiver = Client()
    sign_in(caregiver, world, "caregiver_full")
    maria = actor_for(world.user("caregiver_full"))
    found = refills_needing_attention(maria, subjects_for(maria))[world.people["rosa"].pk]
    assert [item.kind for item in found] == ["refills_answered"]
    page = caregiver.get(reverse("messaging:refills"))
    assert "Refill approved: 30, 2 refills." in page.content.decode()
    assert world.people["rosa"].pk not in refills_needing_attention(maria, subjects_for(maria))


def test_the_patient_sees_a_denial_with_its_reason(client: Client, world: World) -> None:
    alex = world.patient_record
    (lisinopril,) = store(clinic_source(alex, world.org_here), order("alex-lis"))
    patient = actor_for(world.user("patient"))
    done = refill_actions.request_refill(actor=patient, medication=lisinopril, pharmacy=world.pharmacy)
    refill_actions.decide_refill(
        staff=staff_actor(world), refill=done.refill, decision="deny", reason="Your blood pressure needs a check"
    )
    assert Notice.objects.filter(kind=NoticeKind.REFILL_UPDATE, recipient=world.user("patient")).count() == 1
    sign_in(client, world, "patient")
    page = client.get(reverse("messaging:refills")).content.decode()
    assert "Refill denied: Your blood pressure needs a check" in page
    # The decision needs a reason.
    (other,) = store(clinic_source(alex, world.org_here), order("alex-ator", ATORVASTATIN))
    second = refill_actions.request_refill(actor=patient, medication=other, pharmacy=world.pharmacy)
    for decision in ("deny", "visit"):
        with pytest.raises(MessagingError):
            refill_actions.decide_refill(staff=staff_actor(world), refill=second.refill, decision=decision)
    with pytest.raises(MessagingError):
        refill_actions.decide_refill(staff=staff_actor(world), refill=second.refill, decision="approve")
    refill_actions.decide_refill(
        staff=staff_actor(world), refill=second.refill, decision="visit", reason="A check-up first"
    )
    second.refill.refresh_from_db()
    assert second.refill.status == RefillStatus.VISIT_NEEDED
    assert (
        "A visit is needed before this refill: A check-up first"
        in client.get(reverse("messaging:refills")).content.decode()
    )


def test_two_deciders_at_once_the_second_is_told_and_nothing_changes(client: Client, world: World) -> None:
    refill_actions.decide_refill(staff=staff_actor(world), refill=world.refill, decision="approve", quantity=30)
    before = list(RefillRequest.objects.values())
    messages_before = world.refill.thread.messages.count()
    with pytest.raises(refill_actions.AlreadyDecidedError, match="already decided by Jordan Lee"):
        refill_actions.decide_refill(staff=staff_actor(world), refill=world.refill, decision="deny", reason="No")
    sign_in(client, world, "staff_here")
    url = reverse("messaging:staff_refill_decide", kwargs={"org_slug": "riverside", "refill_id": world.refill.pk})
    response = client.post(url, {"decision": "deny", "reason": "No"}, follow=False)
    assert response.status_code == 409
    assert "already decided by Jordan Lee" in response.content.decode()
    assert list(RefillRequest.objects.values()) == before
    assert world.refill.thread.messages.count() == messages_before


def test_the_front_desk_and_admins_see_the_queue_but_do_not_decide(client: Client, world: World) -> None:
    desk_user = UserFactory(email="front.desk@example.test", full_name="Frankie Desk")
    MembershipFactory(user=desk_user, organization=world.org_here, role=Role.FRONT_DESK)
    front_desk = actor_for(desk_user).at_desk(Desk(world.org_here))
    with pytest.raises(NotAllowedError):
        refill_actions.decide_refill(staff=front_desk, refill=world.refill, decision="approve", quantity=30)
    world.refill.refresh_from_db()
    assert world.refill.status == RefillStatus.SENT
    sign_in(client, world, "org_admin")
    queue = client.get(reverse("messaging:staff_refills", kwargs={"org_slug": "riverside"}))
    assert queue.status_code == 200
    assert b"Metformin 500 mg tablet" in queue.content
    assert b"Only clinicians and nurses decide refills" in queue.content
    url = reverse("messaging:staff_refill_decide", kwargs={"org_slug": "riverside", "refill_id": world.refill.pk})
    assert client.post(url, {"decision": "approve", "quantity": "30"}).status_code == 403
    world.refill.refresh_from_db()
    assert world.refill.status == RefillStatus.SENT


def test_staff_elsewhere_get_404(client: Client, world: World) -> None:
    sign_in(client, world, "staff_other")
    assert client.get(reverse("messaging:staff_refills", kwargs={"org_slug": "riverside"})).status_code == 404
    # At their own desk, another organization's request does not exist.
    url = reverse("messaging:staff_refill_decide", kwargs={"org_slug": "lakeside", "refill_id": world.refill.pk})
    assert client.post(url, {"decision": "approve", "quantity": "30"}).status_code == 404
    world.refill.refresh_from_db()
    assert world.refill.status == RefillStatus.SENT


def test_the_staff_queue_shows_who_asked_and_is_recorded(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    page = client.get(reverse("messaging:staff_refills", kwargs={"org_slug": "riverside"})).content.decode()
    assert "Rosa Lopez" in page
    assert "Main Street Pharmacy" in page
    assert "on behalf of Rosa Lopez" in page
    assert AuditEvent.objects.filter(action="refills.viewed", subject_patient=world.people["rosa"]).count() == 1


# The API -----------------------------------------------------------------------------------------------------


def test_the_api_lists_asks_and_decides(client: Client, world: World, rosa_meds: dict) -> None:
    sign_in(client, world, "caregiver_full")
    url = reverse("api-refills", kwargs={"patient_id": world.people["rosa"].pk})
    body = client.get(url).json()
    by_name = {m["name"]: m for m in body["medicines"]}
    assert by_name[LISINOPRIL[1]]["refillable"]
    assert by_name[LISINOPRIL[1]]["organization"] == "Riverside Family Clinic"
    assert by_name[ATORVASTATIN[1]]["ask_instead"] == "Ask Outside Hospital, which prescribed it."
    assert [r["status"] for r in body["requests"]] == ["sent"]
    asked = client.post(
        url,
        {"medication": rosa_meds["lisinopril"].pk, "pharmacy": world.pharmacy.pk},
        content_type="application/json",
    )
    assert asked.status_code == 201
    assert asked.json()["status"] == "sent"
    again = client.post(
        url,
        {"medication": rosa_meds["lisinopril"].pk, "pharmacy": world.pharmacy.pk},
        content_type="application/json",
    )
    assert again.status_code == 409
    unknown = client.post(url, {"medication": 999999, "pharmacy": world.pharmacy.pk}, content_type="application/json")
    assert unknown.status_code == 400
    assert "medication" in unknown.json()

    staff = Client()
    sign_in(staff, world, "staff_here")
    queue = staff.get(reverse("api-staff-refills", kwargs={"org_slug": "riverside"})).json()
    assert [r["medication_name"] for r in queue["waiting"]] == ["Metformin 500 mg tablet", LISINOPRIL[1]]
    assert queue["waiting"][0]["patient_name"] == "Rosa Lopez"
    decide = reverse("api-staff-refill-decide", kwargs={"org_slug": "riverside", "refill_id": asked.json()["id"]})
    decided = staff.post(decide, {"decision": "approve", "quantity": 30, "refills": 2}, content_type="application/json")
    assert decided.status_code == 200
    assert decided.json()["status_text"] == "Refill approved: 30 tablets, 2 refills."
    late = staff.post(decide, {"decision": "deny", "reason": "no"}, content_type="application/json")
    assert late.status_code == 409
    assert "Jordan Lee" in late.json()["detail"]
    admin = Client()
    sign_in(admin, world, "org_admin")
    refused = admin.post(
        reverse("api-staff-refill-decide", kwargs={"org_slug": "riverside", "refill_id": world.refill.pk}),
        {"decision": "approve", "quantity": 30},
        content_type="application/json",
    )
    assert refused.status_code == 403


def test_the_answer_email_links_to_the_refills_page_and_names_no_medicine(world: World) -> None:
    from django.core import mail

    from messaging.notices import deliver_pending

    NotificationChoice.objects.create(user=world.user("caregiver_full"), patient=world.people["rosa"], messages=True)
    refill_actions.decide_refill(staff=staff_actor(world), refill=world.refill, decision="deny", reason="Too soon")
    assert deliver_pending() == 1
    (email,) = mail.outbox
    assert email.to == ["caregiver.full@example.test"]
    assert reverse("messaging:refills") in email.body
    assert "Metformin" not in email.body
    assert "Too soon" not in email.body


def test_the_refills_selector_reads_only_medicines_with_the_refills_scope_and_the_record_hiding(world: World) -> None:
    from records.models import SensitiveShare
    from records.selectors import medication_supply_for_refills
    from tests.messaging.refill_data import dispense

    rosa = world.people["rosa"]
    source = clinic_source(rosa, world.org_here)
    _normal, private, _fill = store(
        source,
        order("rx-normal"),
        order("rx-private", ("1000126", "Private medicine"), security="PSY"),
        dispense("fill", handed_over=date(2026, 3, 1)),
    )
    store(source, {"resourceType": "Condition", "id": "c1", "code": {"text": "Hypertension"}})
    full = replace(rosa_actor(world), hide_sensitive=False)
    assert {r.resource_id for r in medication_supply_for_refills(full)} == {"rx-normal", "rx-private", "fill"}
    hidden = replace(full, hide_sensitive=True)
    assert {r.resource_id for r in medication_supply_for_refills(hidden)} == {"rx-normal", "fill"}
    SensitiveShare.objects.create(patient=rosa, grant_id=full.grant_id, resource=private)
    assert {r.resource_id for r in medication_supply_for_refills(hidden)} == {"rx-normal", "rx-private", "fill"}
    assert not medication_supply_for_refills(replace(full, scopes=frozenset({Scope.RECORDS}))).exists()
    assert not medication_supply_for_refills(actor_for(world.user("stranger"))).exists()
