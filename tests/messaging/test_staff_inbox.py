"""The staff inbox: filters, pools, search, overdue rows, unread markers, paging, the audit of what it lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor, actor_for
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Enrollment, Role
from accounts.scoping import Desk
from messaging import selectors
from messaging.models import Message, Pool, Thread, ThreadRead, ThreadStatus, Topic
from messaging.selectors import InboxFilter
from tests.conftest import World, sign_in
from tests.factories import EnrollmentFactory, MembershipFactory, OrganizationFactory, PatientFactory

pytestmark = pytest.mark.django_db


def inbox_url(world: World, **query: str) -> str:
    url = reverse("messaging:staff_inbox", kwargs={"org_slug": world.org_here.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def jordan(world: World) -> Actor:
    return actor_for(world.user("staff_here")).at_desk(Desk(world.org_here))


def listed(world: World, view: str = InboxFilter.OPEN, search: str = "", pool_id: int | None = None) -> set[str]:
    rows = selectors.inbox(jordan(world), pool_id=pool_id, view=view, search=search)
    return {thread.subject for thread in rows}


def test_the_desk_sees_its_own_threads_only(world: World) -> None:
    assert listed(world) == {"Swollen ankles", "Question about my dose", "Refill: Metformin 500 mg"}


def test_filters(world: World) -> None:
    rosa, alex = world.threads["rosa"], world.threads["alex"]
    Thread.objects.filter(pk=rosa.pk).update(assigned_to=world.user("staff_here"))
    Thread.objects.filter(pk=alex.pk).update(reply_due_at=timezone.now() - timedelta(hours=1))
    assert listed(world, InboxFilter.MINE) == {"Swollen ankles"}
    assert listed(world, InboxFilter.UNASSIGNED) == {"Question about my dose", "Refill: Metformin 500 mg"}
    assert listed(world, InboxFilter.OVERDUE) == {"Question about my dose"}
    Thread.objects.filter(pk=alex.pk).update(status=ThreadStatus.WAITING_ON_PATIENT, reply_due_at=None)
    assert listed(world, InboxFilter.WAITING_ON_PATIENT) == {"Question about my dose"}
    assert listed(world, InboxFilter.OVERDUE) == set()
    Thread.objects.filter(pk=alex.pk).update(status=ThreadStatus.CLOSED)
    assert listed(world, InboxFilter.CLOSED) == {"Question about my dose"}
    assert "Question about my dose" not in listed(world)


def test_overdue_first_then_soonest_due(world: World) -> None:
    now = timezone.now()
    Thread.objects.filter(pk=world.threads["alex"].pk).update(reply_due_at=now - timedelta(days=1))
    Thread.objects.filter(pk=world.threads["rosa"].pk).update(reply_due_at=now + timedelta(hours=1))
    subjects = [t.subject for t in selectors.inbox(jordan(world), pool_id=None, view=InboxFilter.OPEN)]
    assert subjects[:2] == ["Question about my dose", "Swollen ankles"]


def test_search_by_name_subject_and_mrn_at_this_organization_only(world: World) -> None:
    rosa = world.people["rosa"]
    Enrollment.objects.filter(patient=rosa, organization=world.org_here).update(mrn="RV-1001")
    # Rosa is also a patient elsewhere, under another number: that number never finds her here, nor doubles her rows.
    EnrollmentFactory(patient=rosa, organization=world.org_other, mrn="LK-777")
    assert listed(world, search="rosa") == {"Swollen ankles", "Refill: Metformin 500 mg"}
    assert listed(world, search="Rosa Lopez") == {"Swollen ankles", "Refill: Metformin 500 mg"}
    assert listed(world, search="ankles") == {"Swollen ankles"}
    assert listed(world, search="rv-1001") == {"Swollen ankles", "Refill: Metformin 500 mg"}
    assert listed(world, search="LK-777") == set()
    rows = list(selectors.inbox(jordan(world), pool_id=None, view=InboxFilter.OPEN, search="lopez"))
    assert len(rows) == len({t.pk for t in rows}) == 2
    assert {t.mrn for t in rows} == {"RV-1001"}


def test_a_pool_of_the_desk(client: Client, world: World) -> None:
    other_team = Pool.objects.create(organization=world.org_here, name="Front desk")
    Thread.objects.filter(pk=world.threads["alex"].pk).update(pool=other_team)
    sign_in(client, world, "staff_here")
    page = client.get(inbox_url(world, pool=str(other_team.pk))).content.decode()
    assert "Question about my dose" in page
    assert "Swollen ankles" not in page
    # Another organization's pool is not a pool at all here.
    assert client.get(inbox_url(world, pool=str(world.pools["other"].pk))).status_code == 404
    assert client.get(inbox_url(world, pool="junk")).status_code == 404


def test_the_page_marks_overdue_in_words_and_unread(client: Client, world: World) -> None:
    Thread.objects.filter(pk=world.threads["alex"].pk).update(reply_due_at=timezone.now() - timedelta(hours=2))
    ThreadRead.objects.create(thread=world.threads["rosa"], user=world.user("staff_here"))
    sign_in(client, world, "staff_here")
    response = client.get(inbox_url(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("inbox-overdue") == 1
    assert "Overdue" in page
    # Alex's and the refill's threads are unread for Jordan; Rosa's he read after her message.
    assert page.count("inbox-unread") == 2


def test_every_listed_thread_is_audited_in_the_patients_history(client: Client, world: World) -> None:
    sign_in(client, world, "staff_here")
    client.get(inbox_url(world))
    events = AuditEvent.objects.filter(action=AuditAction.MESSAGE_INBOX_VIEWED)
    assert {(e.subject_patient_id, e.object_id) for e in events} == {
        (world.people["rosa"].pk, str(world.threads["rosa"].pk)),
        (world.patient_record.pk, str(world.threads["alex"].pk)),
        (world.people["rosa"].pk, str(world.refill.thread_id)),
    }


def test_fifty_a_page(client: Client, world: World) -> None:
    patient = PatientFactory(given_name="Many", family_name="Threads")
    EnrollmentFactory(patient=patient, organization=world.org_here)
    now = timezone.now()
    Thread.objects.bulk_create(
        Thread(
            organization=world.org_here,
            pool=world.pools["here"],
            patient=patient,
            topic=Topic.OTHER,
            subject=f"Question {n:03}",
            reply_due_at=now + timedelta(days=3, minutes=n),
        )
        for n in range(60)
    )
    sign_in(client, world, "staff_here")
    first = client.get(inbox_url(world)).content.decode()
    assert "Question 046" in first
    assert "Question 047" not in first
    assert "page=2" in first
    second = client.get(inbox_url(world, page="2")).content.decode()
    assert "Question 047" in second
    assert "Question 059" in second
    assert client.get(inbox_url(world, page="junk")).status_code == 200


def test_front_desk_works_the_inbox_billing_does_not(client: Client, world: World) -> None:
    from tests.factories import TOTPDeviceFactory, UserFactory

    front = UserFactory(email="front@example.test")
    billing = UserFactory(email="billing@example.test")
    MembershipFactory(user=front, organization=world.org_here, role=Role.FRONT_DESK)
    MembershipFactory(user=billing, organization=world.org_here, role=Role.BILLING)
    for person in (front, billing):
        TOTPDeviceFactory(user=person)
        client.force_login(person)
        session = client.session
        from django_otp import DEVICE_ID_SESSION_KEY

        session[DEVICE_ID_SESSION_KEY] = person.totpdevice_set.get().persistent_id
        session.save()
        expected = 200 if person is front else 404
        assert client.get(inbox_url(world)).status_code == expected


def test_staff_home_counts_for_each_workplace(client: Client, world: World) -> None:
    Thread.objects.filter(pk=world.threads["alex"].pk).update(reply_due_at=timezone.now() - timedelta(hours=2))
    # Jordan also works at a third clinic, where nothing waits.
    third = OrganizationFactory(name="Hilltop Clinic", slug="hilltop")
    MembershipFactory(user=world.user("staff_here"), organization=third, role=Role.CLINICIAN)
    staff = actor_for(world.user("staff_here"))
    counts = selectors.workplace_inbox_counts(staff)
    assert counts[world.org_here.pk] == selectors.InboxCounts(waiting=3, overdue=1, refills=1)
    assert counts[third.pk] == selectors.InboxCounts(waiting=0, overdue=0, refills=0)
    assert world.org_other.pk not in counts
    sign_in(client, world, "staff_here")
    page = client.get(reverse("staff_home")).content.decode()
    assert reverse("messaging:staff_inbox", kwargs={"org_slug": "riverside"}) in page
    assert reverse("messaging:staff_inbox", kwargs={"org_slug": "hilltop"}) in page
    assert reverse("messaging:staff_inbox", kwargs={"org_slug": "lakeside"}) not in page


def test_patient_message_counts_as_new_for_staff(world: World) -> None:
    thread = world.threads["alex"]
    ThreadRead.objects.create(thread=thread, user=world.user("staff_here"))
    assert not next(t for t in selectors.inbox(jordan(world), pool_id=None, view="open") if t.pk == thread.pk).unread
    later = timezone.now() + timedelta(minutes=5)
    Message.objects.create(thread=thread, author=world.user("patient"), author_name="Alex", body="Any news?")
    Thread.objects.filter(pk=thread.pk).update(last_patient_message_at=later)
    assert next(t for t in selectors.inbox(jordan(world), pool_id=None, view="open") if t.pk == thread.pk).unread


# The page's queries are pinned: a page of 50 whatever the inbox's size, whichever the filter (the session is
# not written again within SESSION_ACTIVITY_RESOLUTION of the previous request; the user's own record comes with
# the user, and so does whether they hold any grant: proxy.backends).
PINNED = {"": 7, "?view=overdue": 7, "?q=lopez": 8, "?view=unassigned": 7, "pool": 8}


@pytest.mark.parametrize("query", list(PINNED))
def test_the_inbox_page_makes_a_fixed_number_of_queries(client: Client, world: World, query: str) -> None:
    from tests.query_counts import count_queries

    Thread.objects.filter(pk=world.threads["rosa"].pk).update(reply_due_at=timezone.now() - timedelta(hours=1))
    sign_in(client, world, "staff_here")
    url = inbox_url(world) + (f"?pool={world.pools['here'].pk}" if query == "pool" else query)
    assert count_queries(client, url) == PINNED[query]
    patient = PatientFactory(given_name="Lena", family_name="Lopez")
    EnrollmentFactory(patient=patient, organization=world.org_here)
    second = Pool.objects.create(organization=world.org_here, name="Second team")
    Thread.objects.bulk_create(
        Thread(
            organization=world.org_here,
            pool=world.pools["here"] if n % 2 else second,
            patient=patient,
            topic=Topic.CARE,
            subject=f"Extra {n}",
            assigned_to=world.user("org_admin") if n % 3 else None,
            reply_due_at=timezone.now() + timedelta(hours=n - 30),
        )
        for n in range(70)
    )
    assert count_queries(client, url) == PINNED[query]
    if query in ("", "?q=lopez"):  # more than 50 rows: a second page, read the same way
        assert count_queries(client, url + ("&" if "?" in url else "?") + "page=2") == PINNED[query]


def test_the_staff_home_counts_in_a_fixed_number_of_queries(client: Client, world: World) -> None:
    from tests.query_counts import count_queries

    sign_in(client, world, "staff_here")
    before = count_queries(client, reverse("staff_home"))
    for n in range(3):
        MembershipFactory(
            user=world.user("staff_here"), organization=OrganizationFactory(slug=f"more-{n}"), role=Role.NURSE
        )
    assert count_queries(client, reverse("staff_home")) == before
