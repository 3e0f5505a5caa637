from django.urls import path  # noqa: F401  (the patterns below)

app_name = "messaging"

# The patient's and caregiver's side: messages (`inbox` lists them), a thread, its files.
urlpatterns: list = []

# The refills (`refills` lists them), pharmacies and reminders.
urlpatterns += []

# The staff side, at an organization's desk (staff/<org_slug>/...).
urlpatterns += []
