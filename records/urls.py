from django.urls import path

from records.views import upload

app_name = "records"

urlpatterns = [
    path("records/upload/", upload.upload, name="upload"),
]
