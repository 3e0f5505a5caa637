from django.urls import path

from proxy.api.views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
]
