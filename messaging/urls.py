from django.urls import path

from messaging.views import refills as refill_views
from messaging.views import staff_refills

app_name = "messaging"

# The patient's and caregiver's side: messages (`inbox` lists them), a thread, its files.
urlpatterns: list = []

# The refills (`refills` lists them), pharmacies and reminders; the staff's refill queue and decisions.
urlpatterns += [
    path("refills/", refill_views.refills_page, name="refills"),
    path("refills/new/<int:medication_id>/", refill_views.refill_new, name="refill_new"),
    path("refills/pharmacies/", refill_views.favorite_pharmacies, name="favorite_pharmacies"),
    path("refills/reminders/", refill_views.refill_reminders, name="refill_reminders"),
    path("staff/<slug:org_slug>/refills/", staff_refills.staff_refills, name="staff_refills"),
    path(
        "staff/<slug:org_slug>/refills/<int:refill_id>/decide/",
        staff_refills.staff_refill_decide,
        name="staff_refill_decide",
    ),
]

# The staff side, at an organization's desk (staff/<org_slug>/...).
urlpatterns += []
