from django.urls import path

from scheduling.views import patient, staff

app_name = "scheduling"

urlpatterns = [
    path("appointments/", patient.appointments, name="appointments"),
    path("appointments/find/", patient.find, name="find"),
    path("appointments/calendar-address/", patient.calendar_link, name="calendar_link"),
    path("appointments/book/", patient.book, name="book"),
    path("appointments/<uuid:appointment_id>/cancel/", patient.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/calendar.ics", patient.appointment_file, name="appointment_file"),
    path("appointments/<uuid:appointment_id>/waitlist/", patient.waitlist, name="waitlist"),
    path("appointments/<uuid:appointment_id>/check-in/", patient.check_in_page, name="check_in"),
    path("appointments/<uuid:appointment_id>/forms/<slug:form_key>/", patient.form_page, name="form"),
    path("appointments/offers/<str:offer_id>/", patient.offer, name="offer"),
    path("staff/<slug:org_slug>/schedule/", staff.schedule, name="staff_schedule"),
    path("staff/<slug:org_slug>/schedule/<uuid:appointment_id>/mark/", staff.mark, name="staff_mark"),
]
