from django.contrib import admin
from django.urls import include, path

from portal import calendar_feed, views

urlpatterns = [
    path("", views.home, name="home"),
    path("family/", views.family, name="family"),
    path("person/", views.person, name="person"),
    path("staff/", views.staff_home, name="staff_home"),
    path("platform/", views.platform_home, name="platform_home"),
    path("session/keepalive/", views.session_keepalive, name="session_keepalive"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    path("calendar/<str:secret>.ics", calendar_feed.calendar_feed, name="calendar_feed"),
    path("readyz", views.readyz, name="readyz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("accounts.urls")),
    path("", include("proxy.urls")),
    path("", include("records.urls")),
    path("", include("messaging.urls")),
    path("", include("scheduling.urls")),
    path("", include("billing.urls")),
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("api/v1/", include("proxy.api.urls")),
    path("api/v1/", include("records.api.urls")),
    path("api/v1/", include("messaging.api.urls")),
    path("api/v1/", include("messaging.api.urls_staff")),
    path("api/v1/", include("scheduling.api.urls")),
    path("api/v1/", include("messaging.api.urls_refills")),
    path("api/v1/", include("billing.api.urls")),
    path("api/schema/", views.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", views.SchemaDocsView.as_view(url_name="api-schema"), name="api-docs"),
]
