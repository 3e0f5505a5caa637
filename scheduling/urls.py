from django.urls import path

from scheduling.views import patient

app_name = "scheduling"

urlpatterns = [
    path("appointments/", patient.appointments, name="appointments"),
    path("appointments/find/", patient.find, name="find"),
    path("appointments/book/", patient.book, name="book"),
    path("appointments/<uuid:appointment_id>/cancel/", patient.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/calendar.ics", patient.appointment_file, name="appointment_file"),
]
