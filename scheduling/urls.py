from django.urls import path

from scheduling.views import desk_booking, patient, setup, staff
from scheduling.views.reminder_settings import reminder_settings

app_name = "scheduling"

SETUP = "staff/<slug:org_slug>/scheduling/"
PROVIDER = SETUP + "providers/<int:provider_id>/"

urlpatterns = [
    path("appointments/", patient.appointments, name="appointments"),
    path("appointments/find/", patient.find, name="find"),
    path("appointments/calendar-address/", patient.calendar_link, name="calendar_link"),
    path("appointments/reminders/", reminder_settings, name="reminder_settings"),
    path("appointments/book/", patient.book, name="book"),
    path("appointments/<uuid:appointment_id>/cancel/", patient.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/calendar.ics", patient.appointment_file, name="appointment_file"),
    path("appointments/<uuid:appointment_id>/waitlist/", patient.waitlist, name="waitlist"),
    path("appointments/<uuid:appointment_id>/check-in/", patient.check_in_page, name="check_in"),
    path("appointments/<uuid:appointment_id>/forms/<slug:form_key>/", patient.form_page, name="form"),
    path("appointments/offers/<str:offer_id>/", patient.offer, name="offer"),
    path("staff/<slug:org_slug>/schedule/", staff.schedule, name="staff_schedule"),
    path("staff/<slug:org_slug>/schedule/<uuid:appointment_id>/mark/", staff.mark, name="staff_mark"),
    path("staff/<slug:org_slug>/schedule/book/", desk_booking.book_for_patient, name="staff_book"),
    path(SETUP, setup.setup_page, name="staff_setup"),
    path(SETUP + "rules/", setup.policy, name="staff_policy"),
    path(SETUP + "locations/", setup.location_add, name="staff_location_add"),
    path(SETUP + "locations/<int:location_id>/", setup.location_page, name="staff_location"),
    path(SETUP + "providers/", setup.provider_add, name="staff_provider_add"),
    path(PROVIDER, setup.provider_page, name="staff_provider"),
    path(PROVIDER + "details/", setup.provider_details, name="staff_provider_details"),
    path(PROVIDER + "hours/", setup.hours_add, name="staff_hours_add"),
    path(PROVIDER + "hours/<int:hours_id>/remove/", setup.hours_remove, name="staff_hours_remove"),
    path(PROVIDER + "time-away/", setup.time_away_add, name="staff_time_away_add"),
    path(PROVIDER + "time-away/<int:time_away_id>/remove/", setup.time_away_remove, name="staff_time_away_remove"),
    path(SETUP + "closed-days/", setup.closed_day_add, name="staff_closed_day_add"),
    path(SETUP + "closed-days/<int:closed_day_id>/remove/", setup.closed_day_remove, name="staff_closed_day_remove"),
    path(SETUP + "visit-types/", setup.visit_type_add, name="staff_visit_type_add"),
    path(SETUP + "visit-types/<int:visit_type_id>/", setup.visit_type_page, name="staff_visit_type"),
]
