"""The staff's scheduling setup (rules, hours, time away, closed days, kinds of visit), the week view and booking
for a patient at the desk: each change shows in the free times at once, bad input changes nothing, and only the
roles that may make a change can."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role
from scheduling.actions import book_appointment
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    ClosedDay,
    Mode,
    Provider,
    SchedulingPolicy,
    VisitType,
    WeeklyAvailability,
)
from scheduling.selectors import open_slots
from tests.factories import EnrollmentFactory, MembershipFactory, PatientFactory, TOTPDeviceFactory, UserFactory
from tests.scheduling.clinic import NOW, Clinic, chicago, make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return make_clinic()


def _desk_client(clinic: Clinic, role: str) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    user = UserFactory(full_name=f"Jo {role}")
    MembershipFactory(user=user, organization=clinic.organization, role=role)
    device = TOTPDeviceFactory(user=user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin(clinic: Clinic) -> Client:
    return _desk_client(clinic, Role.ORG_ADMIN)


@pytest.fixture
def front_desk(clinic: Clinic) -> Client:
    return _desk_client(clinic, Role.FRONT_DESK)


def _url(name: str, clinic: Clinic, **kwargs: object) -> str:
    return reverse(f"scheduling:{name}", kwargs={"org_slug": clinic.organization.slug, **kwargs})


def _starts(clinic: Clinic, day: str, *, provider: Provider | None = None) -> list[str]:
    """The free start times (Chicago clock) of a day for the clinic's checkup."""
    start = chicago(f"{day}T00:00")
    found = open_slots(clinic.checkup, start=start, end=start + timedelta(days=1), now=NOW, provider=provider)
    return sorted({slot.starts_at.astimezone(chicago("2026-03-02T00:00").tzinfo).strftime("%H:%M") for slot in found})


def _setup_rows() -> tuple[int, ...]:
    return (
        WeeklyAvailability.objects.count(),
        AvailabilityException.objects.count(),
        ClosedDay.objects.count(),
        VisitType.objects.count(),
        Provider.objects.count(),
    )


def test_hours_added_at_the_desk_are_bookable_at_once_and_an_overlap_is_refused_whole(
    clinic: Clinic, front_desk: Client
) -> None:
    url = _url("staff_hours_add", clinic, provider_id=clinic.doctor.pk)
    afternoon = {
        "hours-weekdays": ["3", "6"],
        "hours-starts": "13:00",
        "hours-ends": "15:00",
        "hours-location": clinic.location.pk,
        "hours-modes": [Mode.IN_PERSON],
    }
    with time_machine.travel(NOW, tick=False):
        assert "13:00" not in _starts(clinic, "2026-03-04", provider=clinic.doctor)
        assert front_desk.post(url, afternoon).status_code == 302
        assert "13:00" in _starts(clinic, "2026-03-04", provider=clinic.doctor)  # a Wednesday
        assert "14:40" in _starts(clinic, "2026-03-07", provider=clinic.doctor)  # a Saturday
        before = _setup_rows()
        # Wednesday 11:00-14:00 overlaps both the morning and the new afternoon: nothing is added, Monday neither.
        clash = {**afternoon, "hours-weekdays": ["1", "3"], "hours-starts": "11:00", "hours-ends": "14:00"}
        page = front_desk.post(url, clash)
    assert page.status_code == 400
    assert "Monday already has hours from 09:00 to 12:00" in page.content.decode()
    assert _setup_rows() == before
    event = AuditEvent.objects.get(action="appointments.setup_changed")
    assert event.subject_patient is None
    assert event.detail["change"] == "hours_added"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours-starts": "12:00", "hours-ends": "09:00"}, "must end after they start"),
        ({"hours-location": ""}, "In-person visits need a location"),
        ({"hours-modes": []}, "This field is required"),
        ({"hours-weekdays": ["9"]}, "Select a valid choice"),
    ],
)
def test_bad_hours_say_why_and_change_nothing(
    clinic: Clinic, front_desk: Client, change: dict[str, object], message: str
) -> None:
    body = {
        "hours-weekdays": ["6"],
        "hours-starts": "09:00",
        "hours-ends": "12:00",
        "hours-location": clinic.location.pk,
        "hours-modes": [Mode.IN_PERSON],
        **change,
    }
    before = _setup_rows()
    page = front_desk.post(_url("staff_hours_add", clinic, provider_id=clinic.doctor.pk), body)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert _setup_rows() == before


def test_removing_hours_frees_no_booked_visit(clinic: Clinic, front_desk: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-04T09:00"))
        wednesday = WeeklyAvailability.objects.get(provider=clinic.doctor, weekday=3)
        page = front_desk.post(_url("staff_hours_remove", clinic, provider_id=clinic.doctor.pk, hours_id=wednesday.pk))
        assert page.status_code == 302
        assert _starts(clinic, "2026-03-04", provider=clinic.doctor) == []
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_time_away_blocks_its_slots_and_lists_the_visits_still_booked_in_it(clinic: Clinic, front_desk: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        visit = book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-05T10:00"))
        page = front_desk.post(
            _url("staff_time_away_add", clinic, provider_id=clinic.doctor.pk),
            {"away-starts_on": "2026-03-05", "away-ends_on": "2026-03-06", "away-reason": "Conference"},
            follow=True,
        )
        assert _starts(clinic, "2026-03-05", provider=clinic.doctor) == []
        assert _starts(clinic, "2026-03-06", provider=clinic.doctor) == []
        assert "09:00" in _starts(clinic, "2026-03-09", provider=clinic.doctor)
    text = page.content.decode()
    assert "1 visit is still booked in that time" in text
    assert "Alex Rivera" in text
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED
    away = AvailabilityException.objects.get()
    assert (away.starts_at, away.ends_at) == (chicago("2026-03-05T00:00"), chicago("2026-03-07T00:00"))


def test_time_away_that_ends_before_it_starts_or_is_over_is_refused(clinic: Clinic, front_desk: Client) -> None:
    url = _url("staff_time_away_add", clinic, provider_id=clinic.doctor.pk)
    with time_machine.travel(NOW, tick=False):
        backwards = front_desk.post(url, {"away-starts_on": "2026-03-06", "away-ends_on": "2026-03-05"})
        over = front_desk.post(url, {"away-starts_on": "2026-02-02", "away-ends_on": "2026-02-03"})
    assert backwards.status_code == over.status_code == 400
    assert "must end after it starts" in backwards.content.decode()
    assert "already passed" in over.content.decode()
    assert not AvailabilityException.objects.exists()


def test_a_closed_day_has_no_free_time_and_cannot_be_closed_twice_or_in_the_past(
    clinic: Clinic, front_desk: Client
) -> None:
    url = _url("staff_closed_day_add", clinic)
    with time_machine.travel(NOW, tick=False):
        assert front_desk.post(url, {"closed-day": "2026-03-04", "closed-name": "Staff training"}).status_code == 302
        assert _starts(clinic, "2026-03-04") == []
        again = front_desk.post(url, {"closed-day": "2026-03-04"})
        past = front_desk.post(url, {"closed-day": "2026-03-01"})
        closed = ClosedDay.objects.get()
        assert front_desk.post(_url("staff_closed_day_remove", clinic, closed_day_id=closed.pk)).status_code == 302
        assert "09:00" in _starts(clinic, "2026-03-04")
    assert again.status_code == past.status_code == 400
    assert "already closed" in again.content.decode()
    assert "already passed" in past.content.decode()


def test_the_admin_sets_the_booking_rules_and_bad_values_change_nothing(clinic: Clinic, admin: Client) -> None:
    url = _url("staff_policy", clinic)
    rules = {
        "booking_horizon_days": "30",
        "min_notice_hours": "24",
        "cancel_cutoff_hours": "48",
        "reminders": [str(3 * 24 * 60), "60"],
        "phone": "555-0199",
    }
    assert admin.post(url, rules).status_code == 302
    policy = SchedulingPolicy.objects.get(organization=clinic.organization)
    assert (policy.booking_horizon_days, policy.min_notice_minutes, policy.cancel_cutoff_minutes) == (30, 1440, 2880)
    assert policy.reminder_offsets_minutes == [3 * 24 * 60, 60]
    with time_machine.travel(NOW, tick=False):
        assert _starts(clinic, "2026-03-02") == []  # inside the day's notice now
        assert _starts(clinic, "2026-04-06") == []  # past 30 days
    for bad in ({"booking_horizon_days": "0"}, {"min_notice_hours": "-1"}, {"reminders": ["17"]}):
        page = admin.post(url, {**rules, "booking_horizon_days": "60", **bad})
        assert page.status_code == 400
    policy.refresh_from_db()
    assert policy.booking_horizon_days == 30


def test_the_front_desk_changes_hours_but_not_what_the_clinic_offers(clinic: Clinic, front_desk: Client) -> None:
    assert front_desk.get(_url("staff_setup", clinic)).status_code == 200
    before = _setup_rows()
    policy = {"booking_horizon_days": "5", "min_notice_hours": "0", "cancel_cutoff_hours": "0", "phone": ""}
    assert front_desk.post(_url("staff_policy", clinic), policy).status_code == 404
    assert front_desk.post(_url("staff_visit_type_add", clinic), {"visit-name": "X"}).status_code == 404
    details = {"display_name": "Someone else", "is_active": ""}
    assert (
        front_desk.post(_url("staff_provider_details", clinic, provider_id=clinic.doctor.pk), details).status_code
        == 404
    )
    assert _setup_rows() == before
    assert not SchedulingPolicy.objects.filter(booking_horizon_days=5).exists()
    clinic.doctor.refresh_from_db()
    assert clinic.doctor.display_name == "Dr. Casey Nguyen"


def test_a_nurse_and_another_clinic_cannot_open_the_setup(clinic: Clinic) -> None:
    nurse = _desk_client(clinic, Role.NURSE)
    assert nurse.get(_url("staff_setup", clinic)).status_code == 404
    elsewhere = make_clinic()
    stranger = _desk_client(elsewhere, Role.ORG_ADMIN)
    own_url = reverse("scheduling:staff_provider", kwargs={"org_slug": elsewhere.organization.slug,
                                                          "provider_id": clinic.doctor.pk})  # fmt: skip
    assert stranger.get(own_url).status_code == 404
    monday = WeeklyAvailability.objects.filter(provider=clinic.doctor).first()
    assert monday is not None
    remove = reverse(
        "scheduling:staff_hours_remove",
        kwargs={"org_slug": elsewhere.organization.slug, "provider_id": elsewhere.doctor.pk, "hours_id": monday.pk},
    )
    assert stranger.post(remove).status_code == 404
    assert WeeklyAvailability.objects.filter(pk=monday.pk).exists()


def test_a_kind_of_visit_added_by_the_admin_is_bookable_with_its_providers(clinic: Clinic, admin: Client) -> None:
    url = _url("staff_visit_type_add", clinic)
    body = {
        "visit-name": "Flu shot",
        "visit-duration_minutes": "10",
        "visit-modes": [Mode.IN_PERSON],
        "visit-patients": "any",
        "visit-bookable_online": "on",
        "visit-providers": [clinic.nurse.pk],
        "visit-forms": [],
        "visit-is_active": "on",
    }
    assert admin.post(url, {**body, "visit-modes": []}).status_code == 400
    assert admin.post(url, {**body, "visit-duration_minutes": "2"}).status_code == 400
    assert admin.post(url, {**body, "visit-forms": ["no-such-form"]}).status_code == 400
    assert not VisitType.objects.filter(name="Flu shot").exists()
    assert admin.post(url, body).status_code == 302
    flu = VisitType.objects.get(name="Flu shot")
    with time_machine.travel(NOW, tick=False):
        start = chicago("2026-03-03T00:00")
        found = open_slots(flu, start=start, end=start + timedelta(days=1), now=NOW)
    assert {slot.provider_id for slot in found} == {clinic.nurse.pk}
    assert len(found) == 18  # 09:00 to 12:00, every 10 minutes
    edit = admin.post(_url("staff_visit_type", clinic, visit_type_id=flu.pk), {
        **{key.removeprefix("visit-"): value for key, value in body.items()}, "is_active": ""})  # fmt: skip
    assert edit.status_code == 302
    flu.refresh_from_db()
    assert flu.is_active is False


def test_a_provider_added_by_the_admin_starts_without_hours(clinic: Clinic, admin: Client) -> None:
    page = admin.post(
        _url("staff_provider_add", clinic),
        {
            "provider-display_name": "Dr. Sam Ortiz",
            "provider-locations": [clinic.location.pk],
            "provider-is_active": "on",
        },
    )
    made = Provider.objects.get(display_name="Dr. Sam Ortiz")
    assert page.status_code == 302
    assert page["Location"].endswith(f"/providers/{made.pk}/")
    assert made.organization == clinic.organization
    opened = admin.get(page["Location"])
    assert "No hours yet" in opened.content.decode()


def test_the_desk_books_a_staff_only_visit_inside_the_notice_for_a_patient_found_by_mrn(
    clinic: Clinic, front_desk: Client
) -> None:
    clinic.checkup.bookable_online = False
    clinic.checkup.save()
    enrollment = clinic.patient.enrollments.get()
    enrollment.mrn = "RFC-0042"
    enrollment.save()
    url = _url("staff_book", clinic)
    with time_machine.travel(chicago("2026-03-02T08:50"), tick=False):
        found = front_desk.get(url, {"q": "RFC-0042"})
        assert "Rivera, Alex" in found.content.decode()
        choose = front_desk.get(
            url, {"patient": clinic.patient.pk, "visit_type": clinic.checkup.pk, "provider": clinic.doctor.pk,
                  "mode": Mode.IN_PERSON, "day": "2026-03-02"},
        )  # fmt: skip
        assert choose.status_code == 200
        slot = f"{clinic.doctor.pk}|{chicago('2026-03-02T09:00').isoformat()}|{clinic.location.pk}"
        body = {"patient": clinic.patient.pk, "visit_type": clinic.checkup.pk, "mode": Mode.IN_PERSON, "slot": slot,
                "reason": "Called: sore throat"}  # fmt: skip
        booked = front_desk.post(url, body)
        again = front_desk.post(url, body)
    assert booked.status_code == 302
    visit = Appointment.objects.get(patient=clinic.patient)
    assert (visit.starts_at, visit.booked_by_staff, visit.status) == (chicago("2026-03-02T09:00"), True, "booked")
    assert again.status_code == 409
    assert "just taken" in again.content.decode()
    assert Appointment.objects.count() == 1


def test_the_desk_cannot_book_for_a_patient_of_another_clinic(clinic: Clinic, front_desk: Client) -> None:
    stranger = PatientFactory(given_name="Zed", family_name="Elsewhere")
    EnrollmentFactory(patient=stranger, organization=make_clinic().organization)
    url = _url("staff_book", clinic)
    with time_machine.travel(NOW, tick=False):
        searched = front_desk.get(url, {"q": "Elsewhere"}).content.decode()
        assert "Elsewhere, Zed" not in searched
        assert "No patient of this clinic matches" in searched
        slot = f"{clinic.doctor.pk}|{chicago('2026-03-03T09:00').isoformat()}|{clinic.location.pk}"
        body = {"patient": stranger.pk, "visit_type": clinic.checkup.pk, "mode": Mode.IN_PERSON, "slot": slot}
        assert front_desk.post(url, body).status_code == 404
    assert not Appointment.objects.exists()


def test_the_week_lists_seven_days_without_cancelled_visits(clinic: Clinic, front_desk: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"))
        other, other_actor = clinic.another_patient()
        gone = book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-05T09:00"))
        Appointment.objects.filter(pk=gone.pk).update(status=AppointmentStatus.CANCELLED)
        book_appointment(actor=other_actor, patient=other, booking=clinic.booking("2026-03-09T09:00"))
        page = front_desk.get(_url("staff_schedule", clinic), {"view": "week", "day": "2026-03-04"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Monday 2 March" in text
    assert "Sunday 8 March" in text
    assert "1 visit this week" in text
    assert AuditEvent.objects.filter(action="appointments.schedule_viewed").count() == 1


def test_the_week_and_the_provider_page_read_a_fixed_number_of_queries(clinic: Clinic, front_desk: Client) -> None:
    from tests.query_counts import count_queries

    week = _url("staff_schedule", clinic) + "?view=week&day=2026-03-04"
    provider = _url("staff_provider", clinic, provider_id=clinic.doctor.pk)
    with time_machine.travel(NOW, tick=False):
        book_appointment(actor=clinic.actor, patient=clinic.patient, booking=clinic.booking("2026-03-03T09:00"))
        AvailabilityException.objects.create(
            provider=clinic.doctor, starts_at=chicago("2026-03-03T00:00"), ends_at=chicago("2026-03-04T00:00")
        )
        before = (count_queries(front_desk, week), count_queries(front_desk, provider))
        for day in range(4, 7):
            other, other_actor = clinic.another_patient()
            book_appointment(actor=other_actor, patient=other, booking=clinic.booking(f"2026-03-0{day}T10:00"))
            AvailabilityException.objects.create(
                provider=clinic.doctor,
                starts_at=chicago(f"2026-03-0{day}T00:00"),
                ends_at=chicago(f"2026-03-0{day}T08:00"),
            )
        assert (count_queries(front_desk, week), count_queries(front_desk, provider)) == before
